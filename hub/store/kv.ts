/**
 * The ordered key-value store under the task store: string keys, string values, atomic batches.
 * Only `level-kv.ts` implements it (with LevelDB); the task store sees no LevelDB types.
 */
export type KvOp = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

export interface KvRange {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  reverse?: boolean;
  limit?: number;
}

/**
 * A read-only view of the store as it was when `Kv.snapshot()` was called, however it changes
 * after: what an online backup reads (hub/backup/). Close it when done: an open snapshot keeps
 * LevelDB from dropping the old versions it pins.
 */
export interface KvSnapshot {
  /** Yields [key, value] pairs of a range in chunks, as the store was at the snapshot. */
  entries(range: KvRange, chunk?: number): AsyncGenerator<Array<[string, string]>>;
  close(): Promise<void>;
}

export interface Kv {
  get(key: string): Promise<string | undefined>;
  getMany(keys: string[]): Promise<(string | undefined)[]>;
  /** Writes all ops or none. `sync` waits for fsync before resolving. */
  write(ops: KvOp[], sync: boolean): Promise<void>;
  /** Yields keys of a range in chunks (fast: values are not read). */
  keys(range: KvRange, chunk?: number): AsyncGenerator<string[]>;
  /** Yields [key, value] pairs of a range in chunks. */
  entries(range: KvRange, chunk?: number): AsyncGenerator<Array<[string, string]>>;
  /** A consistent view of the whole store at this moment, taken synchronously (see KvSnapshot). */
  snapshot(): KvSnapshot;
  /**
   * Asks the store to reclaim the space of deleted keys in [start, end] now, rather than when its
   * own compactions reach them (retention calls it after a round, over the ranges it removed).
   * Off the event loop; may take seconds. A store with nothing to reclaim (memory) does nothing.
   */
  compactRange(start: string, end: string): Promise<void>;
  close(): Promise<void>;
  /**
   * After a failed write, makes the store fit to write again, or throws: LevelDB checks that the
   * disk has room, then reopens itself (a LevelDB handle whose log append failed may lose later
   * writes when next opened). Reads wait while it reopens. @defaultValue none needed
   */
  recover?(): Promise<void>;
}

/** The range of keys that start with `prefix`. */
export function prefixRange(prefix: string, extra: Omit<KvRange, 'gte' | 'lt'> = {}): KvRange {
  return { gte: prefix, lt: `${prefix}\xff`, ...extra };
}
