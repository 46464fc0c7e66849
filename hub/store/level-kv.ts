/**
 * LevelDB behind the Kv interface. This is the only module that imports `level`.
 */
import { open, stat, unlink } from 'node:fs/promises';
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
  return new LevelKv(db, location);
}

/**
 * Room a recovery asks for before it reopens: LevelDB's reopen writes the log it replays into a
 * new table, and a reopen that fails for space leaves the store closed (reads fail too).
 */
const RECOVERY_ROOM = 1024 * 1024;

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

class LevelKv implements Kv {
  /** While recover() reopens the database: reads wait for it. */
  private reopening: Promise<void> | null = null;

  constructor(
    private readonly db: Level<string, string>,
    private readonly location: string,
  ) {}

  async recover(): Promise<void> {
    // Room first, without touching the database: a full disk stays a failed probe, not a closed store.
    const probe = join(this.location, 'SWITCHYARD-SPACE-PROBE');
    const file = await open(probe, 'w');
    try {
      await file.write(Buffer.alloc(RECOVERY_ROOM));
      await file.sync();
    } finally {
      await file.close();
      await unlink(probe).catch(() => undefined);
    }
    const reopen = (async () => {
      if (this.db.status === 'open') await this.db.close();
      await this.db.open();
    })();
    // Readers wait for the reopen either way; a failed one leaves them a closed store's error.
    this.reopening = reopen.then(
      () => undefined,
      () => undefined,
    ).finally(() => (this.reopening = null));
    await reopen;
  }

  /**
   * Synchronous LevelDB read wrapped in a promise: the serial path otherwise waits a thread-pool
   * round trip for every record it reads (measured: 326 -> 113 us of CPU per cycle with the
   * chained batch below). A read that misses the page cache blocks the event loop for one disk
   * read; the hub's working set is its recent tasks, which stay cached.
   */
  get(key: string): Promise<string | undefined> {
    if (this.reopening) return this.reopening.then(() => this.get(key));
    try {
      return Promise.resolve(this.db.getSync(key));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async getMany(keys: string[]): Promise<(string | undefined)[]> {
    if (this.reopening) await this.reopening;
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
    if (this.reopening) await this.reopening;
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
    if (this.reopening) await this.reopening;
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

  close(): Promise<void> {
    return this.db.close();
  }
}
