/**
 * Copies one store's snapshot into a fresh LevelDB folder: the online half of a backup.
 *
 * The running hub keeps serving while this runs: the snapshot pins a state of the store without
 * holding its serial (group-commit) path, reads come in chunks, and between chunks the event loop
 * is given back (setImmediate) so dispatch goes on. The copy's batches are written without fsync;
 * the last one is synced, then the store is closed and every file under it fsynced, before the
 * caller writes the manifest: a manifest never describes data that is not on disk.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { KvOp, KvSnapshot } from '../store/kv.js';
import { openLevelKv } from '../store/level-kv.js';
import { StoreDigest } from './digest.js';
import { syncTree } from './fs-util.js';

export interface CopyOptions {
  /** Entries read per chunk. @defaultValue 1000 */
  chunk?: number;
  /** Keys whose values the digest keeps (`digest.picked`). */
  pick?: readonly string[];
  /** Stops the copy between chunks (the hub is stopping): it throws BACKUP_FAILED. */
  signal?: AbortSignal;
}

export async function copySnapshot(snapshot: KvSnapshot, target: string, options: CopyOptions = {}): Promise<StoreDigest> {
  const chunk = options.chunk ?? 1000;
  const digest = new StoreDigest(options.pick);
  const out = await openLevelKv(target);
  try {
    // One chunk held back, so the last write of the copy is the synced one.
    let pending: KvOp[] | null = null;
    for await (const entries of snapshot.entries({}, chunk)) {
      if (pending) await out.write(pending, false);
      pending = entries.map(([key, value]) => {
        digest.add(key, value);
        return { type: 'put', key, value };
      });
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (options.signal?.aborted) throw new SwitchyardError('BACKUP_FAILED', 'the backup was stopped: the hub is shutting down');
    }
    if (pending) await out.write(pending, true);
  } finally {
    await out.close();
  }
  await syncTree(target);
  return digest;
}
