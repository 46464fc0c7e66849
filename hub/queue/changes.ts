/**
 * Rules decide, the store applies. A queue rule (leases.ts, retry-policy.ts, dependencies.ts,
 * operator.ts, sweep-rules.ts, create.ts) is a function from the records it needs to a list of
 * changes: it reads through `Changes`, which lays the changes decided so far over the store's
 * transaction port (port.ts), and records each decision with `transition` or `edit`. The store
 * then writes the list in order, each change with its index keys and event, in the operation's
 * one atomic batch. A rule that throws has changed nothing.
 *
 * A change carries its audit event, so the rules own the whole record after the change
 * (`event_ids` included) and the store only stores it.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Task, TaskEvent, TaskStatus } from '../../shared/task.js';
import type { RoutingPolicy } from '../../shared/routing.js';
import type { BackoffOptions } from './backoff.js';
import type { TaskDefaults } from './normalize.js';
import type { QueueTx } from './port.js';
import { assertTransition, LEASED_STATUSES } from './states.js';

/**
 * Event ids a record keeps (the newest). The record is rewritten on every change, so a task that
 * bounces for days keeps its newest events here, and all of them stay in the global log.
 */
export const MAX_EVENT_IDS = 500;

/**
 * One record change: the same shape as the store's `TaskChange`, so the store hands this very
 * object to its listeners (no copy per change).
 */
export interface Change {
  /** The record after the change. */
  task: Task;
  /** The record before it; null for a new task. */
  before: Task | null;
  /** The audit event of a new task or a status change; null for any other change (no event). */
  event: TaskEvent | null;
  /** A new task's dependencies that it is registered with as a dependant (one edge each). */
  links: readonly string[] | null;
}

/** The store-wide settings rules read. */
export interface QueuePolicy {
  /** Randomness for backoff jitter, in [0, 1). */
  random: () => number;
  backoff: BackoffOptions;
  taskDefaults: TaskDefaults;
  /** The routing policy in force (docs/routing.md); null or absent: tasks are not routed. Set live by the hub. */
  routing?: RoutingPolicy | null;
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * What a rule sees and what it decided: reads through the port with this operation's own
 * changes laid over, and the changes in order. A store may reuse one instance for every
 * operation of its serial path (`begin` starts the next), so an operation allocates none.
 */
export class Changes {
  /** The changes decided so far, in order. */
  readonly list: Change[] = [];
  /** The operation's time (ms since epoch): every change of one operation carries the same. */
  now = 0;
  /** Latest record per task, once the operation changed more than one record. */
  private latest: Map<string, Task> | null = null;

  constructor(
    readonly tx: QueueTx,
    readonly policy: QueuePolicy,
  ) {}

  /** Starts an operation at `now`, forgetting the previous one's changes. */
  begin(now: number): this {
    this.list.length = 0;
    this.latest = null;
    this.now = now;
    return this;
  }

  /** The record as this operation left it, if it changed it. */
  own(id: string): Task | undefined {
    if (this.latest) return this.latest.get(id);
    const only = this.list.length === 1 ? this.list[0]! : undefined;
    return only !== undefined && only.task.id === id ? only.task : undefined;
  }

  read(id: string): Promise<Task | undefined> {
    const own = this.own(id);
    return own !== undefined ? Promise.resolve(own) : this.tx.read(id);
  }

  async mustRead(id: string): Promise<Task> {
    const task = await this.read(id);
    if (!task) throw new SwitchyardError('TASK_NOT_FOUND', `no task ${id}`, { task_id: id });
    return task;
  }

  /** Ids of the tasks that depend on `task` (none without asking, when it has no dependants). */
  dependantsOf(task: Task): Promise<readonly string[]> {
    return task.dependant_count ? this.tx.dependantsOf(task.id) : Promise.resolve(NONE);
  }

  /**
   * Records `after` over `before`. A new task or a status change gets its audit event, and the
   * record lists the event's id (the per-task view of the log costs no key of its own).
   */
  record(before: Task | null, after: Task, actor: string, reason: string, links: readonly string[] | null = null): Task {
    let event: TaskEvent | null = null;
    if (!before || before.status !== after.status) {
      event = {
        id: this.tx.newEventId(),
        at: after.updated_at,
        task_id: after.id,
        type: before ? 'transition' : 'created',
        from: before ? before.status : null,
        to: after.status,
        generation: after.generation,
        actor,
        reason,
      };
      const ids = [...(before?.event_ids ?? []), event.id];
      after.event_ids = ids.length > MAX_EVENT_IDS ? ids.slice(ids.length - MAX_EVENT_IDS) : ids;
    }
    this.list.push({ task: after, before, event, links });
    if (this.latest) this.latest.set(after.id, after);
    else if (this.list.length > 1) this.latest = new Map(this.list.map((c) => [c.task.id, c.task]));
    return after;
  }
}

/** A transition through the state table, with the fields every transition sets. */
export function transition(ws: Changes, task: Task, to: TaskStatus, patch: Partial<Task>, actor: string, reason: string): Task {
  assertTransition(task.id, task.status, to);
  const now = ws.now;
  const after: Task = { ...task, ...patch, status: to, updated_at: now };
  if (to === 'queued') {
    after.queued_at = now;
    after.next_run_at = null;
  } else if (!('queued_at' in patch)) {
    after.queued_at = null;
  }
  if (!LEASED_STATUSES.has(to)) after.lease = null;
  if (to !== 'pending' && to !== 'failed') after.next_run_at = null;
  return ws.record(task, after, actor, reason);
}

/**
 * Like transition(), with the record's fields taken from `task` (an amended copy of `before`,
 * such as one more attempt counted) and the state it leaves from `before`. For failures only:
 * the task leaves its lease and the queue.
 */
export function transitionFrom(ws: Changes, before: Task, task: Task, to: TaskStatus, patch: Partial<Task>, actor: string, reason: string): Task {
  assertTransition(task.id, before.status, to);
  const after: Task = { ...task, ...patch, status: to, updated_at: ws.now, lease: null, queued_at: null };
  if (to !== 'pending' && to !== 'failed') after.next_run_at = null;
  return ws.record(before, after, actor, reason);
}

/** A change that is not a transition (a renewal, a count, a delegation ended): no event. */
export function edit(ws: Changes, task: Task, patch: Partial<Task>): Task {
  return ws.record(task, { ...task, ...patch }, '', '');
}

/** ILLEGAL_TRANSITION for an operator action that the state table allows but the action does not. */
export function illegal(task: Task, to: TaskStatus, why: string): SwitchyardError {
  return new SwitchyardError('ILLEGAL_TRANSITION', `task ${task.id} cannot go from ${task.status} to ${to}: ${why}`, {
    task_id: task.id,
    from: task.status,
    to,
  });
}
