/**
 * LevelDB behind the Kv interface. This is the only module that imports `level`.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { SwitchyardError } from '../../shared/errors.js';
import type { Kv, KvOp, KvRange } from './kv.js';

export interface LevelKvOptions {
  /**
   * Open only a store that exists (`createIfMissing: false`), for a caller that writes nothing.
   * LevelDB has no read-only mode: opening still replays its log into its own files, but no key
   * changes. @defaultValue false
   */
  readOnly?: boolean;
}

export async function openLevelKv(location: string, options: LevelKvOptions = {}): Promise<Kv> {
  // LevelDB makes the folder (and its LOCK file) before it finds no store there, even with
  // createIfMissing off: look first.
  if (options.readOnly && !(await isFile(join(location, 'CURRENT')))) {
    throw new SwitchyardError('STORE_FAILED', `there is no store at ${location}`);
  }
  // A 64 MiB write buffer (LevelDB's default is 4 MiB): the hub writes small records fast, and a
  // small memtable means constant level-0 compactions, which took half a core in bench:dispatch
  // (50% -> 16% of a thread, ~30% less CPU per cycle). The cost: up to 64 MiB more memory and
  // replaying up to that much log when the store opens.
  const db = new Level<string, string>(location, {
    keyEncoding: 'utf8',
    valueEncoding: 'utf8',
    writeBufferSize: 64 * 1024 * 1024,
    createIfMissing: !options.readOnly,
  } as object);
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED' || /lock/i.test(cause?.message ?? '')) {
      throw new SwitchyardError(
        'STORE_LOCKED',
        `the store at ${location} is in use by another process; stop it first or choose another --data folder`,
        undefined,
        { cause: err },
      );
    }
    throw new SwitchyardError('STORE_FAILED', `cannot open the store at ${location}: ${(err as Error).message}`, undefined, { cause: err });
  }
  return new LevelKv(db);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

class LevelKv implements Kv {
  constructor(private readonly db: Level<string, string>) {}

  /**
   * Synchronous LevelDB read wrapped in a promise: the serial path otherwise waits a thread-pool
   * round trip for every record it reads (measured: 326 -> 113 us of CPU per cycle with the
   * chained batch below). A read that misses the page cache blocks the event loop for one disk
   * read; the hub's working set is its recent tasks, which stay cached.
   */
  get(key: string): Promise<string | undefined> {
    try {
      return Promise.resolve(this.db.getSync(key));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  getMany(keys: string[]): Promise<(string | undefined)[]> {
    return this.db.getMany(keys);
  }

  write(ops: KvOp[], sync: boolean): Promise<void> {
    // A chained batch: abstract-level's array form copies and re-checks every operation in JS
    // (7.8 us per op against 2.0 measured). classic-level honours `sync` on write().
    try {
      const batch = this.db.batch();
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value);
        else batch.del(op.key);
      }
      return batch.write({ sync } as object);
    } catch (err) {
      // A closed database throws here at once: answer like every other failure, with a rejection.
      return Promise.reject(err);
    }
  }

  async *keys(range: KvRange, chunk = 1000): AsyncGenerator<string[]> {
    const it = this.db.keys(range);
    try {
      for (;;) {
        const batch = await it.nextv(chunk);
        if (batch.length === 0) return;
        yield batch;
      }
    } finally {
      await it.close();
    }
  }

  async *entries(range: KvRange, chunk = 1000): AsyncGenerator<Array<[string, string]>> {
    const it = this.db.iterator(range);
    try {
      for (;;) {
        const batch = await it.nextv(chunk);
        if (batch.length === 0) return;
        yield batch as Array<[string, string]>;
      }
    } finally {
      await it.close();
    }
  }

  compactRange(start: string, end: string): Promise<void> {
    // LevelDB drops a deleted key's tombstone and the value under it only when a compaction
    // reaches the bottom level; after a retention round that can be long (the key space of old
    // tasks sees no new writes to trigger one). classic-level runs this on its worker thread.
    // `level` types the browser's database too; in Node it is classic-level's, which has it.
    return (this.db as unknown as { compactRange(start: string, end: string): Promise<void> }).compactRange(start, end);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
