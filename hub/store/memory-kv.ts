/**
 * An ordered key-value store in memory, behind the Kv interface (kv.ts), for the in-memory task
 * store and for tests. Like LevelDB underneath level-kv.ts:
 *  - keys sort by UTF-16 code unit, which is LevelDB's byte order for every key the store reads as
 *    a range (ASCII ids, tokens and fixed-width times);
 *  - a batch (`write`) is atomic: it is checked whole, then applied whole, with no await between;
 *  - an iterator reads the store as it was when it started (a snapshot), however the store
 *    changes while it runs.
 * Keys and values live in two sorted arrays, shared with the iterators that read them and copied
 * before a write changes them (copy on write), so a snapshot costs nothing until a write comes.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Kv, KvOp, KvRange, KvSnapshot } from './kv.js';

interface State {
  keys: string[];
  values: string[];
  /** Iterators reading these arrays: a write copies them first. */
  readers: number;
}

/** The first index whose key is >= `key` (or > `key` when `after`). */
function search(keys: readonly string[], key: string, after = false): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = keys[mid]!;
    if (k < key || (after && k === key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The positions [from, to) of a range in `keys`. */
function bounds(keys: readonly string[], range: KvRange): [number, number] {
  let from = 0;
  let to = keys.length;
  if (range.gte !== undefined) from = Math.max(from, search(keys, range.gte));
  if (range.gt !== undefined) from = Math.max(from, search(keys, range.gt, true));
  if (range.lte !== undefined) to = Math.min(to, search(keys, range.lte, true));
  if (range.lt !== undefined) to = Math.min(to, search(keys, range.lt));
  return [from, Math.max(from, to)];
}

export class MemoryKv implements Kv {
  private closed = false;

  /** @param data the contents, shared by every handle `reopen` gives */
  constructor(private readonly data: { state: State } = { state: { keys: [], values: [], readers: 0 } }) {}

  /** A new handle on the same contents, as reopening a LevelDB folder after closing it. */
  reopen(): MemoryKv {
    return new MemoryKv(this.data);
  }

  /** How many keys it holds. */
  get size(): number {
    return this.data.state.keys.length;
  }

  private check(): void {
    if (this.closed) throw new SwitchyardError('STORE_CLOSED', 'the in-memory store is closed');
  }

  private lookup(key: string): string | undefined {
    const { keys, values } = this.data.state;
    const i = search(keys, key);
    return keys[i] === key ? values[i] : undefined;
  }

  async get(key: string): Promise<string | undefined> {
    this.check();
    return this.lookup(key);
  }

  async getMany(keys: string[]): Promise<(string | undefined)[]> {
    this.check();
    return keys.map((k) => this.lookup(k));
  }

  async write(ops: KvOp[], _sync: boolean): Promise<void> {
    this.check();
    for (const op of ops) {
      if (typeof op.key !== 'string' || (op.type === 'put' && typeof op.value !== 'string')) {
        throw new SwitchyardError('STORE_FAILED', `invalid batch operation on key ${String(op.key)}`);
      }
    }
    let state = this.data.state;
    if (state.readers > 0) {
      // Iterators are reading these arrays: they keep them, the store moves on with copies.
      state = { keys: state.keys.slice(), values: state.values.slice(), readers: 0 };
      this.data.state = state;
    }
    const { keys, values } = state;
    for (const op of ops) {
      const i = search(keys, op.key);
      const found = keys[i] === op.key;
      if (op.type === 'put') {
        if (found) values[i] = op.value;
        else {
          keys.splice(i, 0, op.key);
          values.splice(i, 0, op.value);
        }
      } else if (found) {
        keys.splice(i, 1);
        values.splice(i, 1);
      }
    }
  }

  async *keys(range: KvRange, chunk = 1000): AsyncGenerator<string[]> {
    for await (const entries of this.scan(range, chunk, false)) yield entries as string[];
  }

  async *entries(range: KvRange, chunk = 1000): AsyncGenerator<Array<[string, string]>> {
    for await (const entries of this.scan(range, chunk, true)) yield entries as Array<[string, string]>;
  }

  /** Holds the arrays as they are now (a write copies them first, as for an iterator). */
  snapshot(): KvSnapshot {
    this.check();
    const state = this.data.state;
    state.readers++;
    let open = true;
    return {
      entries: (range, chunk = 1000) => {
        if (!open) throw new SwitchyardError('STORE_CLOSED', 'the snapshot is closed');
        return this.scanState(state, range, chunk, true) as AsyncGenerator<Array<[string, string]>>;
      },
      close: async () => {
        if (open) state.readers--;
        open = false;
      },
    };
  }

  private async *scan(range: KvRange, chunk: number, withValues: boolean): AsyncGenerator<string[] | Array<[string, string]>> {
    this.check();
    yield* this.scanState(this.data.state, range, chunk, withValues);
  }

  private async *scanState(state: State, range: KvRange, chunk: number, withValues: boolean): AsyncGenerator<string[] | Array<[string, string]>> {
    state.readers++;
    try {
      const { keys, values } = state;
      let [from, to] = bounds(keys, range);
      if (range.limit !== undefined && range.limit >= 0) {
        if (range.reverse) from = Math.max(from, to - range.limit);
        else to = Math.min(to, from + range.limit);
      }
      const step = Math.max(1, chunk);
      if (range.reverse) {
        for (let hi = to; hi > from; hi -= step) {
          const lo = Math.max(from, hi - step);
          const out: Array<string | [string, string]> = [];
          for (let i = hi - 1; i >= lo; i--) out.push(withValues ? [keys[i]!, values[i]!] : keys[i]!);
          yield out as string[] | Array<[string, string]>;
        }
      } else {
        for (let lo = from; lo < to; lo += step) {
          const hi = Math.min(to, lo + step);
          yield withValues ? keys.slice(lo, hi).map((k, j) => [k, values[lo + j]!] as [string, string]) : keys.slice(lo, hi);
        }
      }
    } finally {
      state.readers--;
    }
  }

  /** Nothing to do: a deleted key's memory is freed when the key leaves the arrays. */
  async compactRange(_start: string, _end: string): Promise<void> {
    this.check();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
