/**
 * The hub's task store: the Kv task store (kv-task-store.ts) on LevelDB in a folder.
 */
import { openKvTaskStore, type KvTaskStore, type TaskStoreOptions } from './kv-task-store.js';
import { openLevelKv } from './level-kv.js';

/**
 * Opens (creating it if need be) the task store in `location`. Read-only (`options.readOnly`)
 * opens only a folder that exists, and writes nothing to the store; `mustExist` opens only a
 * folder that exists (the hub, once hub/recovery/ knows the data folder holds stores).
 */
export async function openTaskStore(location: string, options: Partial<TaskStoreOptions> & { mustExist?: boolean } = {}): Promise<KvTaskStore> {
  const { mustExist = false, ...storeOptions } = options;
  const kv = await openLevelKv(location, { readOnly: storeOptions.readOnly ?? false, mustExist });
  return openKvTaskStore(kv, storeOptions);
}
