/**
 * The Kv task store (kv-task-store.ts) in memory: the same store, indexes and rules as on
 * LevelDB, over a MemoryKv, so it passes the same conformance suite (tests/queue/). Nothing
 * survives the process; reopening the same MemoryKv (`kv.reopen()`) rebuilds the store from it,
 * as reopening a LevelDB folder does.
 */
import { openKvTaskStore, type KvTaskStore, type TaskStoreOptions } from './kv-task-store.js';
import { MemoryKv } from './memory-kv.js';

export function openMemoryTaskStore(options: Partial<TaskStoreOptions> = {}, kv: MemoryKv = new MemoryKv()): Promise<KvTaskStore> {
  return openKvTaskStore(kv, options);
}
