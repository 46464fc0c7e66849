/**
 * The one serial path for every change to the store, with group commit.
 *
 * Operations run one at a time, so an operation may read and then write without another one
 * interleaving (a LevelDB batch alone cannot read-then-write atomically). Each operation builds
 * its own transaction; if it throws, nothing of it is kept. Successful operations that arrive
 * together are written as ONE fsync'd batch, and each caller is answered only after that batch is
 * on disk. While one batch is being written, the next group is already being prepared, so the
 * disk is never idle while work waits.
 *
 * Reads see, in order: the operation's own writes, writes of earlier operations not yet on disk,
 * then the store itself.
 *
 * A failed batch write puts the path in DEGRADED mode (docs/operations.md, "Degraded mode and a
 * full disk"): every caller of that batch and of the group prepared behind it is refused, since
 * none of it is on disk; the read-your-writes overlay is dropped; new work is refused at once
 * with STORE_DEGRADED (503, retryable). A probe then retries on a backoff (1 s doubling to 30 s):
 * `Kv.recover()` (LevelDB: check that space returned, then reopen, since a LevelDB handle whose
 * log append failed may lose later writes at the next open: measured on a full tmpfs), one small
 * synced write of `h!probe`, then `resync` (the store rebuilds its in-memory state from disk),
 * and only then is work taken again. A degraded state an operator set (`hold()`) has no probe:
 * it ends with `release()`.
 */
import { SwitchyardError } from '../../shared/errors.js';
import { K } from './keys.js';
import { prefixRange, type Kv, type KvOp } from './kv.js';

const DELETED = Symbol('deleted');
type Slot = string | typeof DELETED;

export interface Tx {
  get(key: string): Promise<string | undefined>;
  /**
   * The keys under `prefix`, sorted, as the serial path sees them (this operation's writes and
   * earlier ones not yet on disk included). Only for prefixes the store declared in
   * `GroupCommitOptions.rangeBack`; any other prefix would miss writes not yet on disk.
   */
  keys(prefix: string): Promise<string[]>;
  /** This operation's own write of a key: the value, null if it deleted it, undefined if untouched. */
  own(key: string): string | null | undefined;
  put(key: string, value?: string): void;
  del(key: string): void;
  /** Runs when the operation has succeeded, before its batch is durable (in-memory indexes). */
  onApply(fn: () => void): void;
  /** Runs once the operation's batch is on disk (notifications). */
  onCommit(fn: () => void): void;
}

interface Job<T> {
  run: (tx: Tx) => Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

interface Group {
  epoch: number;
  ops: KvOp[];
  keys: Map<string, Slot>;
  /** Per operation: answer it once the batch is on disk, or fail it if the write failed. */
  done: Array<{ ok: () => void; fail: (err: unknown) => void }>;
}

/**
 * Runs around every operation on the serial path, for a store that keeps per-operation state of
 * its own (the Kv stores: the rules' working set, applied into the transaction at the end).
 */
export interface OperationHooks {
  /** Before the operation runs, with its transaction. */
  begin(tx: Tx): void;
  /** After it succeeded, before its writes join the group; a throw fails the operation alone. */
  end(tx: Tx): void;
}

/** Why the store takes no writes now; see docs/operations.md. */
export interface DegradedState {
  /** `disk_full` (ENOSPC), `write_failed` (any other write error), or what an operator's hold names. */
  reason: string;
  /** What happened, for the operator (the underlying error's message). */
  message: string;
  /** When it began (ms since epoch). */
  since: number;
  /** True when only an operator's acknowledgement ends it (no probe). */
  needsAck: boolean;
}

export interface GroupCommitOptions {
  /** Start writing a group once it holds this many key operations. @defaultValue 4000 */
  maxGroupOps: number;
  /** First probe delay after a failed write; doubles up to `probeMaxMs`. @defaultValue 1000 */
  probeMinMs?: number;
  /** @defaultValue 30000 */
  probeMaxMs?: number;
  /** Clock for `DegradedState.since`. @defaultValue Date.now */
  now?: () => number;
  /**
   * After a probe write succeeded, before work is taken again: the store drops and rebuilds what
   * it keeps in memory (indexes, record cache), which may hold changes of the failed batch.
   */
  resync?: () => Promise<void>;
  /** Told when the path enters (state) or leaves (null) degraded mode. */
  onHealth?: (state: DegradedState | null) => void;
  /** @defaultValue none */
  hooks?: OperationHooks;
  /**
   * The keys an operation may read back (through `tx.get` or `read`) before their batch is on disk.
   * Writes to other keys skip the read-your-writes bookkeeping. @defaultValue every key
   */
  readBack?: (key: string) => boolean;
  /**
   * For keys that range reads (`Tx.keys`) must see before they are on disk: the prefix they are
   * read under (e.g. `p!<parent>!` for `p!<parent>!<child>`), else null. @defaultValue none
   */
  rangeBack?: (key: string) => string | null;
  /** Told after each batch is on disk: its key operations and how long the fsync'd write took (metrics). @defaultValue none */
  onBatch?: (ops: number, ms: number) => void;
}

export class GroupCommit {
  /** Jobs waiting for the serial path; `head` is the next one (no O(n) shift per job). */
  private readonly queue: Array<Job<unknown>> = [];
  private head = 0;
  /** Exclusive sections running (see exclusive()); the drain loop takes no job while > 0. */
  private paused = 0;
  private draining = false;
  private epoch = 0;
  private group: Group = this.newGroup();
  private inflight: Promise<void> | null = null;
  /** Writes of operations whose batch is not on disk yet: key -> latest value and its group. */
  private readonly dirty = new Map<string, { slot: Slot; epoch: number }>();
  /** The same writes of `rangeBack` keys, grouped by the prefix they are read under. */
  private readonly dirtyRanges = new Map<string, Map<string, { slot: Slot; epoch: number }>>();
  private readonly readable: (key: string) => boolean;
  private readonly rangeOf: (key: string) => string | null;
  /** Set while degraded: what every new operation is refused with. */
  private failure: SwitchyardError | null = null;
  private degradedState: DegradedState | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private probeDelay = 0;
  private probing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly kv: Kv,
    private readonly opts: GroupCommitOptions = { maxGroupOps: 4000 },
  ) {
    const rangeOf = opts.rangeBack ?? (() => null);
    const readBack = opts.readBack ?? (() => true);
    this.rangeOf = rangeOf;
    this.readable = (key) => readBack(key) || rangeOf(key) !== null;
  }

  private newGroup(): Group {
    return { epoch: ++this.epoch, ops: [], keys: new Map(), done: [] };
  }

  /** The error new work is refused with while degraded, else null. */
  get failed(): SwitchyardError | null {
    return this.failure;
  }

  /** Why the path takes no writes, or null when it does. */
  get degraded(): DegradedState | null {
    return this.degradedState;
  }

  /**
   * Refuses writes until `release()`, for a state only an operator can end (a restore that lost
   * data): no probe. A hold over a write failure replaces it (the ack then also ends the failure,
   * after a probe write proves the disk takes writes).
   */
  hold(reason: string, message: string): void {
    this.enter({ reason, message, since: this.now(), needsAck: true });
  }

  /** Ends an operator's hold: work is taken again once a probe write succeeds. */
  async release(): Promise<void> {
    if (!this.degradedState?.needsAck) return;
    this.degradedState = { ...this.degradedState, needsAck: false };
    this.stopProbe();
    await this.probe();
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private enter(state: DegradedState): void {
    const first = this.degradedState === null;
    this.degradedState = state;
    this.failure = new SwitchyardError(
      'STORE_DEGRADED',
      state.needsAck
        ? `the store takes no writes until an operator acknowledges: ${state.message} (POST /v1/health/ack)`
        : `the store takes no writes for now (${state.reason}: ${state.message}); it retries by itself, and takes writes again once the disk does`,
      { reason: state.reason, since: state.since, needs_ack: state.needsAck, retry_after_ms: this.opts.probeMinMs ?? 1000 },
    );
    // Everything not on disk is gone: later reads must not see it.
    this.dirty.clear();
    this.dirtyRanges.clear();
    if (first) this.probeDelay = this.opts.probeMinMs ?? 1000;
    if (!state.needsAck) this.scheduleProbe();
    else this.stopProbe();
    this.opts.onHealth?.(state);
  }

  private scheduleProbe(): void {
    if (this.probeTimer || this.closed) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      void this.probe();
    }, this.probeDelay);
    this.probeTimer.unref();
  }

  private stopProbe(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
  }

  /** One try at leaving degraded mode; on failure the next is scheduled, with a longer delay. */
  private probe(): Promise<void> {
    this.probing ??= this.tryProbe().finally(() => (this.probing = null));
    return this.probing;
  }

  private async tryProbe(): Promise<void> {
    if (!this.degradedState || this.degradedState.needsAck || this.closed) return;
    try {
      await this.kv.recover?.();
      await this.kv.write([{ type: 'put', key: K.probe, value: String(this.now()) }], true);
      await this.opts.resync?.();
    } catch (err) {
      if (!this.degradedState || this.degradedState.needsAck || this.closed) return;
      this.probeDelay = Math.min(this.probeDelay * 2, this.opts.probeMaxMs ?? 30_000);
      const reason = reasonOf(err);
      if (reason !== this.degradedState.reason) this.enter({ ...this.degradedState, reason, message: (err as Error).message });
      else this.scheduleProbe();
      return;
    }
    if (!this.degradedState || this.degradedState.needsAck) return;
    this.degradedState = null;
    this.failure = null;
    this.opts.onHealth?.(null);
    if (!this.draining && this.paused === 0 && this.head < this.queue.length) void this.drain();
  }

  /** Reads a key as the serial path sees it (including writes not yet on disk). */
  async read(key: string): Promise<string | undefined> {
    const d = this.dirty.get(key);
    if (d) return d.slot === DELETED ? undefined : d.slot;
    return this.kv.get(key);
  }

  /** Keys under a `rangeBack` prefix as the serial path sees them; see Tx.keys. */
  async keysUnder(prefix: string): Promise<Set<string>> {
    // The overlay is copied before the disk is read: a batch that lands meanwhile drops its
    // entries from the overlay, and the copy still has them.
    const overlay = [...(this.dirtyRanges.get(prefix) ?? [])];
    const found = new Set<string>();
    for await (const keys of this.kv.keys(prefixRange(prefix), 1000)) for (const key of keys) found.add(key);
    for (const [key, d] of overlay) {
      if (d.slot === DELETED) found.delete(key);
      else found.add(key);
    }
    return found;
  }

  /** Runs `run` on the serial path; resolves once its writes are durable. */
  submit<T>(run: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new SwitchyardError('STORE_CLOSED', 'the store is closed'));
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new SwitchyardError('STORE_CLOSED', 'the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve, reject } as Job<unknown>);
      if (!this.draining && this.paused === 0) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.head < this.queue.length && this.paused === 0) {
        if (this.failure) {
          for (const job of this.queue.splice(this.head)) job.reject(this.failure);
          this.queue.length = 0;
          this.head = 0;
          break;
        }
        // Backpressure: a full group waits for the batch on disk before growing further.
        if (this.group.ops.length >= this.opts.maxGroupOps && this.inflight) {
          await this.inflight;
          continue;
        }
        const job = this.queue[this.head]!;
        this.queue[this.head++] = undefined as never;
        if (this.head === this.queue.length) {
          this.queue.length = 0;
          this.head = 0;
        }
        await this.runJob(job);
        if (this.head >= this.queue.length || this.group.ops.length >= this.opts.maxGroupOps) this.flush();
      }
      this.flush();
    } finally {
      this.draining = false;
    }
  }

  private async runJob(job: Job<unknown>): Promise<void> {
    const tx = new JobTx(this);
    const hooks = this.opts.hooks;
    let value: unknown;
    try {
      hooks?.begin(tx);
      value = await job.run(tx);
      hooks?.end(tx);
    } catch (err) {
      job.reject(err);
      return;
    }
    if (this.failure) {
      // A batch failed while this operation was being prepared: nothing more will be written.
      job.reject(this.failure);
      return;
    }
    const g = this.group;
    for (const op of tx.ops) g.ops.push(op);
    if (tx.ownWrites) {
      for (const [key, slot] of tx.ownWrites) {
        g.keys.set(key, slot);
        this.dirty.set(key, { slot, epoch: g.epoch });
        const range = this.rangeOf(key);
        if (range !== null) {
          let keys = this.dirtyRanges.get(range);
          if (!keys) this.dirtyRanges.set(range, (keys = new Map()));
          keys.set(key, { slot, epoch: g.epoch });
        }
      }
    }
    if (tx.applies) for (const fn of tx.applies) fn();
    const commits = tx.commits;
    const ok = () => {
      if (commits) for (const fn of commits) fn();
      job.resolve(value);
    };
    if (g.ops.length === 0 && !this.inflight && g.done.length === 0) {
      // Nothing to write and nothing it read is waiting for disk: answer at once.
      ok();
      return;
    }
    g.done.push({ ok, fail: job.reject });
  }

  /** @internal For JobTx: whether a key's uncommitted writes must be visible to later reads. */
  readsBack(key: string): boolean {
    return this.readable(key);
  }

  /** Starts writing the current group, unless a write is already in flight. */
  private flush(): void {
    if (this.inflight) return;
    if (this.failure) {
      // Degraded (an operator's hold that came while this group was being prepared): it is not
      // written, so its callers are refused, and memory goes back to what is on disk.
      const g = this.group;
      if (g.done.length === 0) return;
      this.group = this.newGroup();
      for (const d of g.done) d.fail(this.failure);
      this.opts.resync?.().catch(() => undefined);
      return;
    }
    const g = this.group;
    if (g.ops.length === 0 && g.done.length === 0) return;
    this.group = this.newGroup();
    const started = performance.now();
    const write = g.ops.length > 0 ? this.kv.write(g.ops, true) : Promise.resolve();
    this.inflight = write.then(
      () => {
        if (g.ops.length > 0) this.opts.onBatch?.(g.ops.length, performance.now() - started);
        for (const [key] of g.keys) {
          const d = this.dirty.get(key);
          if (d && d.epoch === g.epoch) this.dirty.delete(key);
          const range = this.rangeOf(key);
          const keys = range === null ? undefined : this.dirtyRanges.get(range);
          if (keys && keys.get(key)?.epoch === g.epoch) {
            keys.delete(key);
            if (keys.size === 0) this.dirtyRanges.delete(range!);
          }
        }
        this.inflight = null;
        for (const d of g.done) d.ok();
        this.flush();
      },
      (err: unknown) => {
        this.inflight = null;
        const behind = this.group;
        this.group = this.newGroup();
        this.enter({ reason: reasonOf(err), message: (err as Error).message, since: this.now(), needsAck: this.degradedState?.needsAck ?? false });
        const failure = this.failure!;
        // Both this batch and the group prepared behind it depended on it: none of it is acknowledged.
        for (const d of g.done) d.fail(failure);
        for (const d of behind.done) d.fail(failure);
        // Memory back to what is on disk now, so what is read meanwhile (health's queue counts) is
        // true; reads still work on a full disk. The probe resyncs again before work resumes.
        this.opts.resync?.().catch(() => undefined);
      },
    );
  }

  /**
   * Runs `fn` with the serial path held: no operation runs, and nothing is being written, until
   * it ends, so a long read (an integrity check) sees one state of the store. Operations
   * submitted meanwhile wait and then run in order.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.paused++;
    try {
      // Let the running operation finish, then write what is pending and wait for it.
      while (!this.failure && (this.draining || this.inflight || this.group.ops.length > 0 || this.group.done.length > 0)) {
        if (this.inflight) {
          await this.inflight;
          continue;
        }
        if (!this.draining) this.flush();
        await new Promise((r) => setImmediate(r));
      }
      return await fn();
    } finally {
      this.paused--;
      if (this.paused === 0 && !this.draining && this.head < this.queue.length) void this.drain();
    }
  }

  /** Waits until everything submitted so far is durable (or failed). */
  async idle(): Promise<void> {
    while (this.draining || this.inflight || this.head < this.queue.length || this.group.done.length > 0) {
      if (this.inflight) await this.inflight;
      else await new Promise((r) => setImmediate(r));
      if (this.failure) return;
    }
  }

  async close(): Promise<void> {
    await this.idle();
    this.closed = true;
    this.stopProbe();
    await this.probing;
  }
}

/** `disk_full` for ENOSPC (LevelDB says it in its message), else `write_failed`. */
export function reasonOf(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const text = `${e?.code ?? ''} ${e?.message ?? ''} ${e?.cause?.code ?? ''} ${e?.cause?.message ?? ''}`;
  return /ENOSPC|No space left on device/i.test(text) ? 'disk_full' : 'write_failed';
}

/**
 * One operation's transaction: its writes in order, its own writes readable back, and what to
 * run on success. A class rather than closures per operation: at tens of thousands of
 * operations a second, allocation is a large part of the cost (the collector took ~30%).
 */
class JobTx implements Tx {
  readonly ops: KvOp[] = [];
  ownWrites: Map<string, Slot> | null = null;
  applies: Array<() => void> | null = null;
  commits: Array<() => void> | null = null;

  constructor(private readonly gc: GroupCommit) {}

  async get(key: string): Promise<string | undefined> {
    const o = this.ownWrites?.get(key);
    if (o !== undefined) return o === DELETED ? undefined : o;
    return this.gc.read(key);
  }

  async keys(prefix: string): Promise<string[]> {
    const found = await this.gc.keysUnder(prefix);
    if (this.ownWrites) {
      for (const [key, slot] of this.ownWrites) {
        if (!key.startsWith(prefix)) continue;
        if (slot === DELETED) found.delete(key);
        else found.add(key);
      }
    }
    return [...found].sort();
  }

  own(key: string): string | null | undefined {
    const o = this.ownWrites?.get(key);
    return o === DELETED ? null : o;
  }

  put(key: string, value = ''): void {
    if (this.gc.readsBack(key)) (this.ownWrites ??= new Map()).set(key, value);
    this.ops.push({ type: 'put', key, value });
  }

  del(key: string): void {
    if (this.gc.readsBack(key)) (this.ownWrites ??= new Map()).set(key, DELETED);
    this.ops.push({ type: 'del', key });
  }

  onApply(fn: () => void): void {
    (this.applies ??= []).push(fn);
  }

  onCommit(fn: () => void): void {
    (this.commits ??= []).push(fn);
  }
}
