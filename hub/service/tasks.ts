/**
 * Tasks, as every operator surface sees them (REST, the feed's snapshot, the CLI's in-process
 * `up`; later MCP and ChatOps): the rules that more than one edge needs live here once — who may
 * act, the Idempotency-Key header against the body's key, the routing capabilities a task
 * implies — and the edges only translate. Specs reach the store as given (typed by the REST
 * schema, or by the in-process caller's types); the store validates them itself.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { EventQuery, TaskDetail, TaskListQuery } from '../../shared/rest.js';
import type { Task, TaskEvent, TaskSpec } from '../../shared/task.js';
import type { AgentRegistry } from '../agents/registry.js';
import { waitingReason } from '../scheduler/waiting-reason.js';
import type { OnLimit } from '../../shared/usage.js';
import type { CreateResult, Page, QueueStats, TaskStore } from '../store/task-store.js';
import { Access, type Principal } from './access.js';
import { withRoutingCapabilities } from './routing.js';

export interface CreateOptions {
  /** An `Idempotency-Key` given beside the spec (a header): must agree with the spec's own key. */
  idempotencyKey?: string;
}

/** The live output of running attempts (hub/gateway/progress-tail.ts keeps it). */
export interface LiveOutput {
  get(taskId: string): { generation: number; text: string } | undefined;
}

/** Where tasks removed by retention are kept (hub/archive/archive.ts). */
export interface ArchiveReader {
  find(id: string): Promise<{ task: Task; events: TaskEvent[] } | undefined>;
}

/** Events shown with a task (`show`). */
const EVENTS_SHOWN = 1000;
/** Page size when a list or the log asks for none. */
const DEFAULT_PAGE = 100;

export class TaskService {
  constructor(
    private readonly store: TaskStore,
    private readonly registry: AgentRegistry,
    private readonly progress: LiveOutput,
    private readonly archive?: ArchiveReader,
    /** Fills in what the hub's config adds to a spec (the guardian chain of its repo: workflow/chains-config.ts). */
    private readonly prepare: (spec: TaskSpec) => TaskSpec = (spec) => spec,
    /** Why a repo's tasks wait (it is paused: service/repos.ts), for the waiting reason. @defaultValue none wait */
    private readonly holdOf: (repo: string) => string | null = () => null,
    /** Repos at their daily budget (docs/usage.md), for why a task waits. @defaultValue none */
    private readonly blockedRepos?: () => ReadonlyMap<string, OnLimit>,
  ) {}

  async create(caller: Principal, spec: TaskSpec, options: CreateOptions = {}): Promise<CreateResult> {
    Access.authorize(caller, 'tasks.write');
    return this.store.create(this.prepare(withRoutingCapabilities(withIdempotencyKey(spec, options.idempotencyKey))), caller.actor);
  }

  /** All or nothing, in one atomic write; tasks may depend on each other by `ref`. */
  async createMany(caller: Principal, specs: TaskSpec[]): Promise<CreateResult[]> {
    Access.authorize(caller, 'tasks.write');
    return this.store.createMany(Array.isArray(specs) ? specs.map((s) => this.prepare(withRoutingCapabilities(s))) : specs, caller.actor);
  }

  /** The task, or TASK_NOT_FOUND. */
  async get(caller: Principal, id: string): Promise<Task> {
    Access.authorize(caller, 'tasks.read');
    const task = await this.store.get(id);
    if (!task) throw new SwitchyardError('TASK_NOT_FOUND', `no task ${id}`, { task_id: id });
    return task;
  }

  /** The task with its events, the live output of its running attempt, and why a queued task waits. */
  async show(caller: Principal, id: string): Promise<TaskDetail> {
    Access.authorize(caller, 'tasks.read');
    const live = await this.store.get(id);
    if (!live) {
      // Not in the live store: retention may have archived it.
      const archived = await this.archive?.find(id);
      if (!archived) throw new SwitchyardError('TASK_NOT_FOUND', `no task ${id}`, { task_id: id });
      return { task: archived.task, events: archived.events.slice(-EVENTS_SHOWN), progress_tail: null, waiting: null, archived: true };
    }
    const task = live;
    const events = await this.store.events({ taskId: id, limit: EVENTS_SHOWN });
    // Live output of the current attempt (not stored; the result keeps the final tail).
    const output = this.progress.get(id);
    const progressTail = output && task.lease?.generation === output.generation ? output.text : null;
    return { task, events: events.items, progress_tail: progressTail, waiting: waitingReason(task, this.registry, this.holdOf, this.blockedRepos?.()) };
  }

  async list(caller: Principal, query: TaskListQuery = {}): Promise<Page<Task>> {
    Access.authorize(caller, 'tasks.read');
    const { limit = DEFAULT_PAGE, order, ...filters } = query;
    // A whole id is a point read, not a scan (the dashboard's search box takes ids and titles).
    if (filters.q !== undefined && filters.after === undefined && TASK_ID.test(filters.q)) {
      const task = await this.store.get(filters.q.toUpperCase());
      if (task && matches(task, filters)) return { items: [task], next: null };
    }
    return this.store.list({ ...filters, ...(order === 'desc' ? { newest: true } : {}), limit });
  }

  async cancel(caller: Principal, id: string, reason?: string): Promise<Task> {
    Access.authorize(caller, 'tasks.write');
    return this.store.cancel(id, caller.actor, reason ?? 'cancelled by operator');
  }

  /** From dead_letter, or a failed task now (skipping its backoff). */
  async retry(caller: Principal, id: string): Promise<Task> {
    Access.authorize(caller, 'tasks.write');
    return this.store.retry(id, caller.actor);
  }

  /** The audit log, oldest first. */
  async events(caller: Principal, query: EventQuery = {}): Promise<Page<TaskEvent>> {
    Access.authorize(caller, 'events.read');
    const { task, limit = DEFAULT_PAGE, ...rest } = query;
    return this.store.events({ ...rest, ...(task !== undefined ? { taskId: task } : {}), limit });
  }

  /** The queue's counts (in memory). */
  stats(): Promise<QueueStats> {
    return this.store.stats();
  }
}

/** A ULID, as task ids are. */
const TASK_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/i;

/** The list filters other than the search text, for a task found by its id. */
function matches(task: Task, f: TaskListQuery): boolean {
  return (f.status === undefined || task.status === f.status) && (f.lane === undefined || task.lane === f.lane) && (f.repo === undefined || task.repo === f.repo) && (f.agent === undefined || task.lease?.agent_id === f.agent);
}

/** The spec with the key given beside it; a key that differs from the spec's own is refused. */
function withIdempotencyKey(spec: TaskSpec, key: string | undefined): TaskSpec {
  if (key === undefined) return spec;
  if (spec.idempotency_key !== undefined && spec.idempotency_key !== key) {
    throw new SwitchyardError('VALIDATION_FAILED', 'task: Idempotency-Key header and body idempotency_key differ', {
      errors: [{ in: 'headers', path: '/idempotency-key', message: 'differs from the body' }],
    });
  }
  return { ...spec, idempotency_key: key };
}
