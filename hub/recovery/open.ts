/**
 * Opens a data folder's stores for the hub, safely: recover.ts first (check, then repair,
 * restore or refuse by the policy), then the stores, created only in a new folder and otherwise
 * opened with `mustExist` (a store that vanished between the check and the open is an error, not
 * a new empty store); then the creation marker, and the watermark keeper that follows the store.
 */
import type { Logger } from 'pino';
import type { StoreRecovery } from '../../shared/rest.js';
import { openAgentStore, type AgentStore } from '../store/agent-store.js';
import type { KvTaskStore, TaskStoreOptions } from '../store/kv-task-store.js';
import { openTaskStore } from '../store/level-task-store.js';
import { storeDir } from './check.js';
import { readMarker, writeMarker } from './marker.js';
import { recoverStores, type RecoverOptions } from './recover.js';
import { WatermarkKeeper } from './watermark.js';

export interface OpenedStores {
  store: KvTaskStore;
  agents: AgentStore;
  /** What was done about a damaged store; null when none was found. */
  recovery: StoreRecovery | null;
  /** Close after the stores closed (its last, clean write). */
  watermark: WatermarkKeeper;
}

export async function openHubStores(options: RecoverOptions & { taskOptions: Partial<TaskStoreOptions> }): Promise<OpenedStores> {
  const { dataDir, log } = options;
  const { create, recovery, newest } = await recoverStores(options);
  const store = await openTaskStore(storeDir(dataDir, 'tasks'), { ...options.taskOptions, mustExist: !create.includes('tasks') });
  let agents: AgentStore;
  try {
    agents = await openAgentStore(storeDir(dataDir, 'agents'), { mustExist: !create.includes('agents') });
    const marker = await readMarker(dataDir);
    if (marker === null || marker === 'garbled') await writeMarker(dataDir, (options.now ?? Date.now)());
  } catch (err) {
    await store.close();
    throw err;
  }
  const watermark = new WatermarkKeeper(store, dataDir, newest, log);
  // At once: after a recovery the old watermark no longer describes the store.
  await watermark.flush(false);
  return { store, agents, recovery, watermark };
}
