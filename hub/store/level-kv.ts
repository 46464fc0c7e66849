/**
 * LevelDB behind the Kv interface. This is the only module that imports `level`.
 */
import { open, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { SwitchyardError } from '../../shared/errors.js';
import type { Kv, KvOp, KvRange, KvSnapshot } from './kv.js';

export interface LevelKvOptions {
  /**
   * Open only a store that exists (`createIfMissing: false`), for a caller that writes nothing.
   * LevelDB has no read-only mode: opening still replays its log into its own files, but no key
   * changes. @defaultValue false
   */
  readOnly?: boolean;
  /**
   * Open only a store that exists (`createIfMissing: false`): the hub, once its data folder is
   * known to hold stores (hub/recovery/), so that a store that lost its CURRENT file fails to
   * open instead of being created again, empty, over the old files. @defaultValue false
   */
  mustExist?: boolean;
}

export async function openLevelKv(location: string, options: LevelKvOptions = {}): Promise<Kv> {
  // LevelDB makes the folder (and its LOCK file) before it finds no store there, even with
  // createIfMissing off: look first.
  const mustExist = options.readOnly === true || options.mustExist === true;
  if (mustExist && !(await isFile(join(location, 'CURRENT')))) {
    throw new SwitchyardError('STORE_FAILED', `there is no store at ${location}`);
  }
  // A 64 MiB write buffer (LevelDB's default is 4 MiB): the hub writes small records fast, and a
  // small memtable means constant level-0 compactions, which took half a core in bench:dispatch
  // (50% -> 16% of a thread, ~30% less CPU per cycle). The cost: up to 64 MiB more memory and
  // replaying up to that much log when the store opens.
  // No paranoid checks: classic-level (3.x) passes no `paranoidChecks` or `verifyChecksums` to
  // LevelDB (binding.cc reads neither), so LevelDB skips a garbled log record and reads a table
  // block unchecked. hub/recovery/level-files.ts checks the files' checksums before the hub
  // opens a store, instead.
  const db = new Level<string, string>(location, {
    keyEncoding: 'utf8',
    valueEncoding: 'utf8',
    writeBufferSize: 64 * 1024 * 1024,
    createIfMissing: !mustExist,
  } as object);
  try {
    await db.open();
  } catch (err) {
    if (isLocked(err)) throw lockedError(location, err);
    throw new SwitchyardError('STORE_FAILED', `cannot open the store at ${location}: ${(err as Error).message}`, undefined, { cause: err });
  }
  return new LevelKv(db, location);
}

function isLocked(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code === 'LEVEL_LOCKED' || /lock/i.test(cause?.message ?? '');
}

function lockedError(location: string, err: unknown): SwitchyardError {
  return new SwitchyardError('STORE_LOCKED', `the store at ${location} is in use by another process; stop it first or choose another --data folder`, undefined, { cause: err });
}

/**
 * Throws STORE_LOCKED if another process has the store in `location` open; reads and changes no
 * data file. LevelDB takes its lock first when it opens, and with `errorIfExists` it then stops at
 * CURRENT (or with `createIfMissing` off, at its absence) before it replays or writes anything.
 * (It does rotate its own LOG file.) hub/recovery/ calls it before it repairs or moves a store.
 */
export async function assertNotLocked(location: string): Promise<void> {
  const db = new Level<string, string>(location, { createIfMissing: false, errorIfExists: true } as object);
  try {
    await db.open();
  } catch (err) {
    if (isLocked(err)) throw lockedError(location, err);
    return;
  }
  await db.close();
}

/**
 * LevelDB's repair of a closed store in `location`, in place: it rebuilds the MANIFEST from the
 * table and log files it can read, and moves what it cannot into `lost/`. Some records may be
 * lost; hub/recovery/repair.ts runs it only on a copy.
 */
export async function repairLevelStore(location: string): Promise<void> {
  try {
    // `level` resolves to classic-level in Node, whose static repair its types do not carry.
    await (Level as unknown as { repair(location: string): Promise<void> }).repair(location);
  } catch (err) {
    throw new SwitchyardError('STORE_CORRUPT', `LevelDB could not repair the copy at ${location}: ${(err as Error).message}`, undefined, { cause: err });
  }
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

/** An iterator's items `chunk` at a time (one `nextv` each), closing it however the reader stops. */
async function* inChunks<T>(it: { nextv(size: number): Promise<unknown[]>; close(): Promise<void> }, chunk: number): AsyncGenerator<T[]> {
  try {
    for (;;) {
      const batch = (await it.nextv(chunk)) as T[];
      if (batch.length === 0) return;
      yield batch;
    }
  } finally {
    await it.close();
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
    yield* inChunks<string>(this.db.keys(range), chunk);
  }

  async *entries(range: KvRange, chunk = 1000): AsyncGenerator<Array<[string, string]>> {
    if (this.reopening) await this.reopening;
    yield* inChunks<[string, string]>(this.db.iterator(range), chunk);
  }

  /**
   * An explicit LevelDB snapshot (classic-level 3: `db.snapshot()`, passed to iterators as
   * `{ snapshot }`). One snapshot rather than each iterator's implicit one, so several reads of a
   * backup see the same state of the store.
   */
  snapshot(): KvSnapshot {
    const db = this.db;
    const snap = db.snapshot();
    return {
      // A generator, so that the iterator opens on the first read (and so is always closed).
      async *entries(range: KvRange, chunk = 1000): AsyncGenerator<Array<[string, string]>> {
        yield* inChunks<[string, string]>(db.iterator({ ...range, snapshot: snap } as object), chunk);
      },
      close: () => snap.close(),
    };
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
