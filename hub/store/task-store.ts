/**
 * The task store: every queue operation of the hub, and nothing of the database under it.
 * All operations that change state are atomic (record, indexes and audit event in one batch) and
 * resolve only once durable. Operations that name a lease (`accept`, `renew`, `complete`, `fail`,
 * `release`) are fenced by generation: an older generation is refused with STALE_GENERATION and
 * changes nothing.
 *
 * A backend applies the queue's rules (hub/queue/: transitions, leases, retries, dependencies)
 * rather than writing its own, and passes the conformance suite (tests/queue/, run against every
 * backend). What only some backends can do, they declare in `supports`.
 */
import type { Lane, Task, TaskError, TaskEvent, TaskSpec, TaskStatus } from '../../shared/task.js';
import type { RoutingPolicy } from '../../shared/routing.js';
import type { AgentFilter } from '../queue/matching.js';
import type { ReadyPolicy } from '../queue/ready-index.js';
import type { KvSnapshot } from './kv.js';
import type { DegradedState } from './group-commit.js';
import type { RetentionLimits } from '../queue/retention-rules.js';
import type { TaskRule } from '../workflow/rules.js';
import type { UsageTotals } from '../../shared/usage.js';
import type { UsageCell } from './usage-cells.js';

export type { AgentFilter, DegradedState, RetentionLimits };

export interface CreateResult {
  task: Task;
  /** False when the idempotency key already existed: the existing task, nothing written. */
  created: boolean;
}

export interface LeaseRequest extends AgentFilter {
  /**
   * Ids of tasks this agent must not be offered (it rejected them). A backend may look past only
   * so many excluded tasks at the head of the queue (the Kv stores: 32 per lane and signature).
   */
  exclude?: ReadonlySet<string>;
}

export interface ReleaseOptions {
  /**
   * The agent could not run the task because of its host (not logged in, model missing, usage
   * limit): recorded as `last_error`, and the attempt of a running task is not counted.
   */
  hostFault?: TaskError;
}

export interface ListQuery {
  status?: TaskStatus;
  lane?: Lane;
  repo?: string;
  agent?: string;
  /** Text in the title or the id (case-insensitive): a bounded scan, see queries.ts listTasks. */
  q?: string;
  /** Newest first (reverse index order) instead of oldest first. */
  newest?: boolean;
  /** Cursor: the last id of the previous page. */
  after?: string;
  limit?: number;
}

export interface EventQuery {
  taskId?: string;
  /** Cursor: the last event id of the previous page. */
  after?: string;
  /** Events at or after this time (ms since epoch). */
  since?: number;
  limit?: number;
}

export interface Page<T> {
  items: T[];
  /** Pass as `after` for the next page; null at the end. */
  next: string | null;
}

export interface QueueStats {
  queued: Record<Lane, number>;
  /**
   * Tasks per active status. Settled statuses (completed, cancelled) grow without bound and
   * are not counted in memory; `list({ status })` pages through them.
   */
  byStatus: Partial<Record<TaskStatus, number>>;
  leases: number;
}

export interface IntegrityReport {
  ok: boolean;
  tasks: number;
  problems: string[];
}

/**
 * What a backend can do beyond the interface's guarantees, as abstract-level's `supports`: a
 * caller that can use a capability checks its flag, and does without it otherwise.
 */
export interface StoreSupports {
  /**
   * `onApplied`: changes are announced when applied, before their batch is durable, so that a
   * listener's own operations join the same batch (one fsync for both). Needs a serial path that
   * groups operations into batches (group commit).
   */
  onApplied: boolean;
  /** `retain`: removes old finished tasks into an archive (hub/store/retention.ts). */
  retention: boolean;
}

/** A task as the archive keeps it: the record and its whole audit trail. */
export interface ArchivedTask {
  task: Task;
  events: TaskEvent[];
}

/** Where retention writes what it removes; `append` resolves once it is durable (fsync'd). */
export interface ArchiveSink {
  append(entries: ArchivedTask[]): Promise<void>;
}

/** One retention round (docs/operations.md, "Retention and compaction"). */
export interface RetentionOptions extends RetentionLimits {
  /** Tasks per removal batch: one operation on the serial path each, so dispatch goes on between them. @defaultValue 250 */
  batch: number;
  /**
   * How long a removed task's idempotency key stays reserved (a create with it is refused with
   * IDEMPOTENCY_KEY_ARCHIVED); 0 releases it with the task. @defaultValue 7 days
   */
  idempotencyKeepMs: number;
  /** Compact the removed key ranges after the round. @defaultValue true */
  compact?: boolean;
  /**
   * Keep the newest task and the task holding the newest event, however old: the start-up check
   * compares them with the watermark (hub/recovery/), so a hub idle past its retention period
   * must not look like a store that lost writes. Off only in tests of the removal itself.
   * @defaultValue true
   */
  keepNewest?: boolean;
}

export interface RetentionReport {
  /** When the round started (the store's clock). */
  at: number;
  /** Tasks archived and removed. */
  removed: number;
  /** Removed, per status. */
  removedByStatus: Partial<Record<TaskStatus, number>>;
  /** Old enough, but kept (a live dependant, or changed while the round ran). */
  kept: number;
  /** Reserved idempotency keys released. */
  released: number;
  /** Removal batches written. */
  batches: number;
  /** Time spent compacting (ms; 0 when nothing was removed). */
  compactMs: number;
  /** Time the whole round took (ms). */
  durationMs: number;
}

/** The oldest queued task of one signature (capabilities, repo, delegate) and lane: it speaks for every task behind it. */
export interface QueuedHead {
  id: string;
  lane: Lane;
  queued_at: number;
  capabilities: string[];
  repo: string | null;
  delegate: string | null;
}

/** A change made durable: the task after it and the audit event that recorded it. */
export interface TaskChange {
  task: Task;
  /** The record before the change; null for a new task. */
  before: Task | null;
  event: TaskEvent;
  /** The JSON text of `task` and `event` as the store wrote them, when it has it (the live feed sends it as is). */
  json?: { task: string; event: string };
}

export interface TaskStore {
  readonly supports: Readonly<StoreSupports>;
  create(spec: TaskSpec, actor: string): Promise<CreateResult>;
  /** All-or-nothing: one batch; tasks may depend on each other by `ref`. */
  createMany(specs: TaskSpec[], actor: string): Promise<CreateResult[]>;
  get(id: string): Promise<Task | undefined>;
  /** Leases the best queued task for this agent (generation + 1, status `assigned`), or null. */
  leaseNext(req: LeaseRequest): Promise<Task | null>;
  /** Leases one named queued task to this agent; null if it is no longer queued. */
  leaseTask(taskId: string, agent: AgentFilter): Promise<Task | null>;
  /**
   * Ends a queued task's delegation (its delegate is offline or unknown), so any agent that can
   * run it may lease it. Returns the task (unchanged if it has no delegate or is not queued).
   */
  undelegate(taskId: string, actor: string): Promise<Task | null>;
  /** The routing policy tasks created from now on are routed by (docs/routing.md); null: none. */
  setRoutingPolicy(policy: RoutingPolicy | null): void;
  /** Moves a queued routed task from `stage` to its next candidate, recording `reason`; null when it is not queued at that stage or has no next. */
  reroute(taskId: string, stage: number, reason: string): Promise<Task | null>;
  accept(taskId: string, generation: number, agentId: string): Promise<Task>;
  renew(taskId: string, generation: number, agentId: string): Promise<Task>;
  complete(taskId: string, generation: number, agentId: string, result: unknown): Promise<Task>;
  fail(taskId: string, generation: number, agentId: string, error: TaskError): Promise<Task>;
  /**
   * Gives an assignment back (reject, or a drain): queued again. An offer's release counts no
   * attempt; a running task's keeps the attempt its accept counted, except for a host fault.
   */
  release(taskId: string, generation: number, agentId: string, reason: string, options?: ReleaseOptions): Promise<Task>;
  cancel(taskId: string, actor: string, reason?: string): Promise<Task>;
  /** Manual retry from dead_letter (or an early retry of a failed task waiting on backoff). */
  retry(taskId: string, actor: string): Promise<Task>;
  approve(taskId: string, actor: string): Promise<Task>;
  rejectReview(taskId: string, actor: string, reason: string): Promise<Task>;
  /**
   * Runs one of the review workflow's rules (hub/workflow/rules.ts: ask, submit, answer,
   * force-unblock, approve, reject with feedback, the gate's override) on one task, on the serial
   * path like every operation: what it decided is one atomic batch. TASK_NOT_FOUND without it.
   */
  applyRule(taskId: string, rule: TaskRule): Promise<Task>;
  /** Requeues expired leases and queues due tasks; runs by itself on timers too. */
  sweep(): Promise<number>;
  list(query: ListQuery): Promise<Page<Task>>;
  /** Tasks an agent holds a lease on. */
  leasedBy(agentId: string): Promise<Task[]>;
  events(query: EventQuery): Promise<Page<TaskEvent>>;
  /** Counts kept by the store (cheap; a remote backend may have to ask for them). */
  stats(): Promise<QueueStats>;
  /** Checks every index entry against its record (slow: a full scan, for tests and `check`). */
  verifyIntegrity(): Promise<IntegrityReport>;
  /** False while degraded (a batch write failed, or an operator's hold) and after close. */
  healthy(): boolean;
  /** Why the store takes no writes now (degraded mode), or null. */
  degraded(): DegradedState | null;
  /**
   * Enters degraded mode until `acknowledge()`: for a state only an operator can end (a restore that
   * lost data). Writes are refused with STORE_DEGRADED meanwhile; reads go on.
   */
  holdWrites(reason: string, message: string): void;
  /** Ends a hold (the operator's acknowledgement); writes resume once a probe write succeeds. */
  acknowledge(): Promise<void>;
  /** Told when the store enters (the state) or leaves (null) degraded mode. */
  onHealth(listener: (state: DegradedState | null) => void): () => void;
  /** Called after each durable change, in commit order. */
  onChange(listener: (change: TaskChange) => void): () => void;
  /**
   * Present when `supports.onApplied`: called when a change is applied, before its batch is
   * durable. Only for decisions that act through the store again (placing a newly queued task):
   * their own writes then join the same fsync'd batch, and nothing reaches an agent or a client
   * before it is durable. Without it, such decisions follow `onChange`.
   */
  onApplied?(listener: (change: TaskChange) => void): () => void;
  /**
   * Present on a store kept in a Kv: its whole contents as they are now, for an online backup
   * (hub/backup/). Reading it holds nothing of the serial path; each batch is in it whole or not at all.
   */
  snapshot?(): KvSnapshot;
  /**
   * Optional (dispatch speed): the JSON text the store wrote for this record object, when the
   * object is an assignment it returned (leaseNext, leaseTask) and it still has the text: the
   * task.assign frame carries it as written instead of serializing the record a second time.
   */
  recordJson?(task: Task): string | undefined;
  /** Optional (metrics): told after each batch is on disk, with its key operations and the write's duration in ms. */
  onBatch?(listener: (ops: number, ms: number) => void): () => void;
  /**
   * Optional (alerts): the head of each signature's and lane's ready queue, oldest first, at most
   * `limit`; in memory, no scan. A backend without it leaves the task_unplaceable rule idle.
   */
  queuedHeads?(limit: number): QueuedHead[];
  /**
   * Optional (the repo registry, docs/repos.md): what holds a repo's queued tasks back and how
   * repos rank within a lane, asked per ready-index signature. A held task is never leased
   * (`leaseNext` skips it, `leaseTask` answers null); it stays queued.
   */
  setReadyPolicy?(policy: ReadyPolicy): void;
  /**
   * Tokens and cost per UTC day × repo × executor × model (docs/usage.md), charged in the batch of
   * the complete or fail that reported them; in memory, no scan. The cells are the store's: do not
   * change them.
   */
  usageCells(): Iterable<UsageCell>;
  /** One repo's totals on one UTC day (`-` for tasks without a repo); in memory. */
  usageOfRepo(repo: string, day: string): UsageTotals;
  /**
   * Present when `supports.retention`: one retention round. Writes each batch of removable tasks
   * to `archive` (durably) before it removes them from the store, so a crash between the two
   * leaves a duplicate in the archive, never a loss. One round at a time: a call while one runs
   * gets that round's report.
   */
  retain?(options: RetentionOptions, archive: ArchiveSink): Promise<RetentionReport>;
  close(): Promise<void>;
}
