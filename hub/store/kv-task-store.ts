/**
 * The TaskStore on an ordered key-value store (kv.ts): LevelDB for the hub (level-task-store.ts),
 * memory for tests and tools (memory-task-store.ts). It keeps only storage; the queue's rules
 * (hub/queue/) decide every change, and this class composes its own parts, each of which imports
 * only downwards:
 *
 *   group-commit.ts  the serial path (one operation at a time, group-committed batches)
 *   kv-port.ts       the rules' transaction port over it, with the record cache
 *   apply.ts         around each operation: the rules' working set, then the changes they
 *                    decided written into the batch (record, keys, event)
 *   indexes.ts       the in-memory ready index, expiry heaps and counts
 *   sweeper.ts       finds expired leases and due tasks, on one timer
 *   queries.ts       list, events, get: reads of what is on disk
 *   integrity.ts     verifyIntegrity
 *   retention.ts     retention rounds: archive, remove in batches, compact
 *   format.ts        the store format, and the migration from format 2
 *   usage-cells.ts   tokens and cost per day, repo, executor and model (in memory, u! keys)
 *
 * Every key it names is in keys.ts.
 */
import { pino, type Logger } from 'pino';
import { SwitchyardError } from '../../shared/errors.js';
import type { Task, TaskError, TaskEvent, TaskSpec } from '../../shared/task.js';
import type { UsageTotals } from '../../shared/usage.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from '../queue/backoff.js';
import type { RoutingPolicy } from '../../shared/routing.js';
import { edit, type Changes, type QueuePolicy } from '../queue/changes.js';
import { createTasks, planCreate } from '../queue/create.js';
import * as leases from '../queue/leases.js';
import type { AgentFilter } from '../queue/matching.js';
import type { ReadyPolicy } from '../queue/ready-index.js';
import { DEFAULT_TASK_DEFAULTS, type TaskDefaults } from '../queue/normalize.js';
import * as operator from '../queue/operator.js';
import { nextStage } from '../queue/route.js';
import type { TaskRule } from '../workflow/rules.js';
import { ChangeWriter, Listeners } from './apply.js';
import { openFormat } from './format.js';
import { GroupCommit, type DegradedState } from './group-commit.js';
import { ulidGenerator, type IdGenerator } from './ids.js';
import { MemoryIndexes } from './indexes.js';
import { checkIntegrity } from './integrity.js';
import { dependantRangeOf, K } from './keys.js';
import type { Kv, KvSnapshot } from './kv.js';
import { prefixRange } from './kv.js';
import { KvPort } from './kv-port.js';
import { getTask, leasedBy, listEvents, listTasks } from './queries.js';
import { StoreRetention } from './retention.js';
import { Sweeper } from './sweeper.js';
import { UsageCells, type UsageCell } from './usage-cells.js';
import type {
  ArchiveSink,
  CreateResult,
  EventQuery,
  IntegrityReport,
  LeaseRequest,
  ListQuery,
  Page,
  QueuedHead,
  QueueStats,
  ReleaseOptions,
  RetentionOptions,
  RetentionReport,
  StoreSupports,
  TaskChange,
  TaskStore,
} from './task-store.js';

export interface TaskStoreOptions {
  /** Clock, injectable for tests. @defaultValue Date.now */
  now: () => number;
  /** Randomness for ids and backoff jitter. @defaultValue Math.random */
  random: () => number;
  taskDefaults: TaskDefaults;
  backoff: BackoffOptions;
  /** A queued task waiting longer than this is served ahead of newer higher-lane work. @defaultValue 300000 */
  starvationMs: number;
  /** Group commit: start a batch write at this many key operations. @defaultValue 4000 */
  maxGroupOps: number;
  /** Sweep expired leases and due tasks on timers. Off in tests that drive `sweep()` themselves. @defaultValue true */
  autoSweep: boolean;
  /**
   * Open for reading only (`switchyard hub check`): no sweep on open, no timers, no format write
   * or migration (a store that needs one is refused with STORE_NEEDS_MIGRATION), and every
   * change is refused with STORE_READ_ONLY. @defaultValue false
   */
  readOnly: boolean;
  /** Where sweeper and listener failures are logged. @defaultValue a silent logger */
  logger: Logger;
  /** Degraded mode: the first probe delay after a failed write (doubles to 30 s). @defaultValue 1000 */
  probeMinMs: number;
  /**
   * After degraded mode ends, leases are not taken back as expired for this long, so sidecars
   * that could not renew or report meanwhile can. @defaultValue 30000
   */
  recoveryGraceMs: number;
}

export const DEFAULT_STORE_OPTIONS: Readonly<TaskStoreOptions> = Object.freeze({
  now: Date.now,
  random: Math.random,
  taskDefaults: DEFAULT_TASK_DEFAULTS,
  backoff: DEFAULT_BACKOFF,
  starvationMs: 300_000,
  maxGroupOps: 4000,
  autoSweep: true,
  readOnly: false,
  logger: pino({ level: 'silent' }),
  probeMinMs: 1000,
  recoveryGraceMs: 30_000,
});

const SUPPORTS: Readonly<StoreSupports> = Object.freeze({ onApplied: true, retention: true });

/**
 * Opens a task store on `kv`: checks the format, rebuilds the in-memory indexes, and (unless
 * read-only) sweeps what expired while it was closed. Closes `kv` if that fails.
 */
export async function openKvTaskStore(kv: Kv, options: Partial<TaskStoreOptions> = {}): Promise<KvTaskStore> {
  const store = new KvTaskStore(kv, { ...DEFAULT_STORE_OPTIONS, ...options });
  try {
    await store.load();
    return store;
  } catch (err) {
    await kv.close();
    throw err;
  }
}

export class KvTaskStore implements TaskStore {
  readonly supports = SUPPORTS;
  private readonly gc: GroupCommit;
  private readonly port: KvPort;
  private readonly indexes: MemoryIndexes;
  private readonly usage = new UsageCells();
  private readonly writer: ChangeWriter;
  /** The rules' working set; valid inside an operation on the serial path (see run()). */
  private readonly ws: Changes;
  /** The rules' settings; `routing` changes live (setRoutingPolicy). */
  private readonly queuePolicy: QueuePolicy;
  private readonly sweeper: Sweeper;
  private readonly retention: StoreRetention;
  private readonly taskIds: IdGenerator;
  private readonly eventIds: IdGenerator;
  private closed = false;
  private readonly healthListeners = new Set<(state: DegradedState | null) => void>();
  private readonly batchListeners = new Set<(ops: number, ms: number) => void>();

  constructor(
    private readonly kv: Kv,
    private readonly opts: TaskStoreOptions,
  ) {
    this.queuePolicy = { random: opts.random, backoff: opts.backoff, taskDefaults: opts.taskDefaults, routing: null };
    this.taskIds = ulidGenerator(opts.now, opts.random);
    this.eventIds = ulidGenerator(opts.now, opts.random);
    this.port = new KvPort(this.taskIds, this.eventIds);
    this.indexes = new MemoryIndexes(opts.starvationMs);
    this.writer = new ChangeWriter(
      this.port,
      this.indexes,
      this.queuePolicy,
      opts.now,
      new Listeners(opts.logger, 'onApplied'),
      new Listeners(opts.logger, 'onChange'),
      this.usage,
    );
    this.ws = this.writer.changes;
    this.gc = new GroupCommit(kv, {
      maxGroupOps: opts.maxGroupOps,
      // Operations read back only task records and idempotency keys before their batch is durable;
      // index and event keys skip the read-your-writes bookkeeping.
      readBack: (key) => key.startsWith(K.taskPrefix) || key.startsWith(K.idempotencyPrefix),
      // The dependants of a task are read as a range (p!<parent>!) inside operations.
      rangeBack: dependantRangeOf,
      hooks: this.writer,
      now: opts.now,
      probeMinMs: opts.probeMinMs,
      resync: () => this.resync(),
      onHealth: (state) => this.healthChanged(state),
      // Runs on the commit path: a listener's throw is logged, never lets it skip the batch's acks.
      onBatch: (ops, ms) => {
        for (const listener of this.batchListeners) {
          try {
            listener(ops, ms);
          } catch (err) {
            opts.logger.error({ err }, 'a batch listener of the task store failed');
          }
        }
      },
    });
    this.sweeper = new Sweeper(this.gc, this.ws, this.indexes, {
      auto: opts.autoSweep && !opts.readOnly,
      now: opts.now,
      log: opts.logger,
      usable: () => this.healthy(),
    });
    this.retention = new StoreRetention({ kv, gc: this.gc, ws: this.ws, indexes: this.indexes, now: opts.now, log: opts.logger });
  }

  /** Checks the format, rebuilds the in-memory indexes from the index keys, then sweeps what expired while closed. */
  async load(): Promise<void> {
    await openFormat(this.kv, this.opts.readOnly);
    await this.indexes.load(this.kv);
    await this.usage.load(this.kv);
    for await (const keys of this.kv.keys({ ...prefixRange(K.eventPrefix), reverse: true, limit: 1 })) {
      this.eventIds.seed(keys[0]!.slice(K.eventPrefix.length));
    }
    for await (const keys of this.kv.keys({ ...prefixRange(K.taskPrefix), reverse: true, limit: 1 })) {
      this.taskIds.seed(keys[0]!.slice(K.taskPrefix.length));
    }
    if (this.opts.readOnly) return;
    await this.sweeper.sweep();
  }

  healthy(): boolean {
    return !this.closed && this.gc.failed === null;
  }

  degraded(): DegradedState | null {
    return this.gc.degraded;
  }

  holdWrites(reason: string, message: string): void {
    this.gc.hold(reason, message);
  }

  acknowledge(): Promise<void> {
    return this.gc.release();
  }

  onHealth(listener: (state: DegradedState | null) => void): () => void {
    this.healthListeners.add(listener);
    return () => this.healthListeners.delete(listener);
  }

  /**
   * Memory back in step with disk before degraded mode ends: a failed batch's changes were
   * applied to the indexes and the record cache before its write failed.
   */
  private async resync(): Promise<void> {
    this.port.forget();
    await this.indexes.reload(this.kv);
    await this.usage.load(this.kv);
  }

  private healthChanged(state: DegradedState | null): void {
    if (state) this.opts.logger.error({ reason: state.reason, err_message: state.message, needs_ack: state.needsAck }, 'the task store takes no writes: degraded mode');
    else {
      this.opts.logger.info('the task store takes writes again');
      this.sweeper.resume(this.opts.recoveryGraceMs);
    }
    for (const listener of this.healthListeners) {
      try {
        listener(state);
      } catch (err) {
        this.opts.logger.error({ err }, 'a task store health listener threw');
      }
    }
  }

  onChange(listener: (change: TaskChange) => void): () => void {
    return this.writer.committed.add(listener);
  }

  onApplied(listener: (change: TaskChange) => void): () => void {
    return this.writer.applied.add(listener);
  }

  recordJson(task: Task): string | undefined {
    return this.writer.assignedJson.get(task);
  }

  onBatch(listener: (ops: number, ms: number) => void): () => void {
    this.batchListeners.add(listener);
    return () => void this.batchListeners.delete(listener);
  }

  setReadyPolicy(policy: ReadyPolicy): void {
    this.indexes.setReadyPolicy(policy);
  }

  usageCells(): Iterable<UsageCell> {
    return this.usage.cells();
  }

  usageOfRepo(repo: string, day: string): UsageTotals {
    return this.usage.repoDay(repo, day);
  }

  queuedHeads(limit: number): QueuedHead[] {
    return this.indexes.ready.heads(limit);
  }

  /**
   * Runs an operation on the serial path: it reads and decides through `this.ws` (the rules'
   * working set, fresh for it), and what it decided is written when it returns (apply.ts). The
   * sweeper's timer then follows what it changed.
   */
  private run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new SwitchyardError('STORE_CLOSED', 'the store is closed'));
    if (this.opts.readOnly) return Promise.reject(new SwitchyardError('STORE_READ_ONLY', 'the store is open read-only'));
    const result = this.gc.submit(operation);
    void result.then(this.sweeper.arm, this.sweeper.arm);
    return result;
  }

  // ---------------------------------------------------------------- create

  create(spec: TaskSpec, actor: string): Promise<CreateResult> {
    return this.createMany([spec], actor).then((r) => r[0]!);
  }

  createMany(specs: TaskSpec[], actor: string): Promise<CreateResult[]> {
    let plan;
    try {
      plan = planCreate(specs, this.opts.now());
    } catch (err) {
      return Promise.reject(err);
    }
    return this.run(() => createTasks(this.ws, plan, specs.length, actor));
  }

  // ---------------------------------------------------------------- routing

  /** The routing policy new tasks are routed by (null: none). Takes effect for the next task created. */
  setRoutingPolicy(policy: RoutingPolicy | null): void {
    this.queuePolicy.routing = policy;
  }

  /**
   * Moves a queued routed task from `stage` to its next candidate (no agent took it within the
   * stage's wait, or a budget keeps it off paid models). Null when it is no longer queued at that
   * stage (placed, moved, cancelled meanwhile) or has no next stage: nothing written.
   */
  reroute(taskId: string, stage: number, reason: string): Promise<Task | null> {
    return this.run(async () => {
      const task = await this.ws.read(taskId);
      if (!task || task.status !== 'queued' || task.route?.stage !== stage) return null;
      const patch = nextStage(task, reason, this.ws.now);
      return patch ? edit(this.ws, task, { ...patch, updated_at: this.ws.now }) : null;
    });
  }

  // ---------------------------------------------------------------- leases

  leaseNext(req: LeaseRequest): Promise<Task | null> {
    return this.run(async () => {
      const ws = this.ws;
      // Routed tasks this agent's decision turned down (their candidate no longer fits here): looked past, as rejected ones are.
      let skip: Set<string> | undefined;
      for (;;) {
        const entry = this.indexes.ready.pick(req, ws.now, skip ?? req.exclude);
        if (!entry) return null;
        const task = await ws.read(entry.id);
        if (!task || task.status !== 'queued' || task.queued_at !== entry.at) {
          // An entry the index should not hold: drop it and look again.
          this.indexes.ready.remove(entry);
          continue;
        }
        const routed = leases.routingOf(req, task);
        if (routed === null) {
          skip ??= new Set(req.exclude);
          skip.add(task.id);
          continue;
        }
        return leases.assign(ws, task, req.agentId, routed);
      }
    });
  }

  leaseTask(taskId: string, agent: AgentFilter): Promise<Task | null> {
    return this.run(async () => {
      const task = await this.ws.read(taskId);
      // A held repo's task (paused) stays queued: the same rule as leaseNext's pick.
      if (task && this.indexes.ready.holdOf(task.repo) !== null) return null;
      return leases.leaseQueued(this.ws, task, agent);
    });
  }

  /** No event (not a transition), so `actor` is not recorded. */
  undelegate(taskId: string, _actor: string): Promise<Task | null> {
    return this.run(async () => {
      const task = await this.ws.read(taskId);
      return task ? leases.undelegate(this.ws, task) : null;
    });
  }

  accept(taskId: string, generation: number, agentId: string): Promise<Task> {
    return this.run(async () => leases.accept(this.ws, await this.ws.mustRead(taskId), generation, agentId));
  }

  renew(taskId: string, generation: number, agentId: string): Promise<Task> {
    return this.run(async () => leases.renew(this.ws, await this.ws.mustRead(taskId), generation, agentId));
  }

  complete(taskId: string, generation: number, agentId: string, result: unknown): Promise<Task> {
    return this.run(async () => leases.complete(this.ws, await this.ws.mustRead(taskId), generation, agentId, result));
  }

  fail(taskId: string, generation: number, agentId: string, error: TaskError): Promise<Task> {
    return this.run(async () => leases.fail(this.ws, await this.ws.mustRead(taskId), generation, agentId, error));
  }

  release(taskId: string, generation: number, agentId: string, reason: string, options: ReleaseOptions = {}): Promise<Task> {
    return this.run(async () => leases.release(this.ws, await this.ws.mustRead(taskId), generation, agentId, reason, options.hostFault));
  }

  // ---------------------------------------------------------------- operator actions

  cancel(taskId: string, actor: string, reason = 'cancelled'): Promise<Task> {
    return this.run(async () => operator.cancel(this.ws, await this.ws.mustRead(taskId), actor, reason));
  }

  retry(taskId: string, actor: string): Promise<Task> {
    return this.run(async () => operator.retry(this.ws, await this.ws.mustRead(taskId), actor));
  }

  approve(taskId: string, actor: string): Promise<Task> {
    return this.run(async () => operator.approve(this.ws, await this.ws.mustRead(taskId), actor));
  }

  rejectReview(taskId: string, actor: string, reason: string): Promise<Task> {
    return this.run(async () => operator.rejectReview(this.ws, await this.ws.mustRead(taskId), actor, reason));
  }

  applyRule(taskId: string, rule: TaskRule): Promise<Task> {
    return this.run(async () => rule(this.ws, await this.ws.mustRead(taskId)));
  }

  // ---------------------------------------------------------------- sweeper

  sweep(): Promise<number> {
    if (this.opts.readOnly) return Promise.reject(new SwitchyardError('STORE_READ_ONLY', 'the store is open read-only'));
    if (this.closed) return Promise.resolve(0);
    return this.sweeper.sweep();
  }

  // ---------------------------------------------------------------- retention

  retain(options: RetentionOptions, archive: ArchiveSink): Promise<RetentionReport> {
    if (this.closed) return Promise.reject(new SwitchyardError('STORE_CLOSED', 'the store is closed'));
    if (this.opts.readOnly) return Promise.reject(new SwitchyardError('STORE_READ_ONLY', 'the store is open read-only'));
    return this.retention.round(options, archive);
  }

  // ---------------------------------------------------------------- queries

  /**
   * The task as it is on disk: a change not yet acknowledged (its batch still being written) is
   * not shown, so a reader never sees a state that a crash could take back.
   */
  get(id: string): Promise<Task | undefined> {
    return getTask(this.kv, id);
  }

  list(query: ListQuery): Promise<Page<Task>> {
    return listTasks(this.kv, query);
  }

  leasedBy(agentId: string): Promise<Task[]> {
    return leasedBy(this.kv, agentId);
  }

  events(query: EventQuery): Promise<Page<TaskEvent>> {
    return listEvents(this.kv, query);
  }

  stats(): Promise<QueueStats> {
    return Promise.resolve(this.indexes.stats());
  }

  /** Runs with the serial path held, so the scans see one state of the store. */
  verifyIntegrity(): Promise<IntegrityReport> {
    return this.gc.exclusive(() => checkIntegrity(this.kv, this.indexes));
  }

  snapshot(): KvSnapshot {
    if (this.closed) throw new SwitchyardError('STORE_CLOSED', 'the task store is closed');
    return this.kv.snapshot();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sweeper.stop();
    await this.gc.close();
    await this.kv.close();
  }
}
