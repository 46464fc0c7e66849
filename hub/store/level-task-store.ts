/**
 * The TaskStore on LevelDB (through the Kv interface). Every operation runs on the serial,
 * group-committed path (group-commit.ts) and writes the task record, the index keys derived from
 * it, and one audit event per transition in a single atomic batch.
 *
 * Index keys are a pure function of the record (`indexKeysOf`): a write removes the keys of the
 * old record that the new one does not have, and adds the new ones. `verifyIntegrity` checks the
 * same function against the whole store.
 *
 * In memory (rebuilt from the index keys on open, never the source of truth): the ready index
 * (heaps per signature and lane), min-heaps of lease expiries and due times for the sweeper's
 * timer, and counts of tasks per active status.
 */
import { SwitchyardError } from '../../shared/errors.js';
import { LIMITS, TASK_STATUSES, type Task, type TaskError, type TaskEvent, type TaskSpec, type TaskStatus } from '../../shared/task.js';
import { DEFAULT_BACKOFF, retryDelayMs, type BackoffOptions } from '../queue/backoff.js';
import { MinHeap } from '../queue/heap.js';
import { checkRunAt, DEFAULT_TASK_DEFAULTS, newTaskRecord, planBatch, validateSpec, type TaskDefaults } from '../queue/normalize.js';
import { agentMatches, ReadyIndex, signatureOf, type AgentFilter, type ReadyEntry } from '../queue/ready-index.js';
import { assertTransition, FINAL_STATUSES, LEASED_STATUSES } from '../queue/states.js';
import { GroupCommit, type Tx } from './group-commit.js';
import { encodeTime, ulidGenerator, type IdGenerator } from './ids.js';
import { K, parseReadyKey, parseTimeKey, STORE_FORMAT_VERSION } from './keys.js';
import type { Kv, KvOp } from './kv.js';
import { prefixRange } from './kv.js';
import { openLevelKv } from './level-kv.js';
import type {
  CreateResult,
  EventQuery,
  IntegrityReport,
  LeaseRequest,
  ListQuery,
  Page,
  QueueStats,
  ReleaseOptions,
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
}

export const DEFAULT_STORE_OPTIONS: TaskStoreOptions = {
  now: Date.now,
  random: Math.random,
  taskDefaults: DEFAULT_TASK_DEFAULTS,
  backoff: DEFAULT_BACKOFF,
  starvationMs: 300_000,
  maxGroupOps: 4000,
  autoSweep: true,
};

/** Statuses whose counts are kept in memory (the rest grow without bound and are not counted). */
const COUNTED: readonly TaskStatus[] = ['pending', 'assigned', 'running', 'review', 'failed', 'dead_letter'];
const IS_COUNTED = new Set<TaskStatus>(COUNTED);

const SWEEP_CHUNK = 500;
/** Event ids a record keeps (the newest); see write(). */
export const MAX_EVENT_IDS = 500;
/** Leased task records kept parsed in memory (bounded; about the fleet's capacity is in use). */
const RECORD_CACHE_SIZE = 20_000;
const LIST_SCAN_LIMIT = 10_000;

/**
 * Statuses with an `s!` index key. Assigned and running tasks have one already, their lease key
 * (`l!`): not writing a second key for the states a task passes through in milliseconds saves
 * 4 of the key writes of a full cycle. (Queued keeps its `s!` key, so queued tasks list in id
 * order like the others, not in the ready index's lane order.)
 */
const STATUS_INDEXED: ReadonlySet<TaskStatus> = new Set(TASK_STATUSES.filter((s) => !LEASED_STATUSES.has(s)));

/** Every index key a record implies (besides its own `t!` key). */
export function indexKeysOf(task: Task): string[] {
  const keys: string[] = [];
  if (STATUS_INDEXED.has(task.status)) keys.push(K.status(task.status, task.id));
  if (task.status === 'queued' && task.queued_at !== null) {
    keys.push(K.ready(readySig(task), task.lane, task.queued_at, task.id));
  }
  if (task.lease) keys.push(K.lease(task.lease.expires_at, task.id));
  if (task.next_run_at !== null && (task.status === 'pending' || task.status === 'failed')) {
    keys.push(K.due(task.next_run_at, task.id));
  }
  return keys;
}

function readySig(task: Task): string {
  return signatureOf(task.capabilities, task.repo, task.delegate);
}

/** ILLEGAL_TRANSITION for an operator action that the state table allows but the action does not. */
function illegal(task: Task, to: TaskStatus, why: string): SwitchyardError {
  return new SwitchyardError('ILLEGAL_TRANSITION', `task ${task.id} cannot go from ${task.status} to ${to}: ${why}`, {
    task_id: task.id,
    from: task.status,
    to,
  });
}

interface TimeEntry {
  at: number;
  id: string;
}
const earlier = (a: TimeEntry, b: TimeEntry): boolean => a.at < b.at || (a.at === b.at && a.id < b.id);

/**
 * Loads a heap from keys read in key order, which is time order for every time `pad` accepts. A
 * key that breaks the order (written before times were bounded, with more than 13 digits) is
 * pushed properly instead of appended, so it cannot sit at the top and hold back every due task.
 */
function pushInOrder(heap: MinHeap<TimeEntry>, entry: TimeEntry): void {
  const last = heap.last();
  if (last === undefined || !earlier(entry, last)) heap.pushSorted(entry);
  else heap.push(entry);
}

/**
 * Format 2 kept a task's dependants as a list inside its record, rewritten (growing) for every
 * new dependant. Format 3 keeps one `p!` key per edge and a count in the record. The migration
 * rewrites records in batches, each record with its keys in one batch, so an interrupted one is
 * taken up again at the next open; the version moves to 3 last.
 */
async function migrateFormat2(kv: Kv): Promise<void> {
  let ops: KvOp[] = [];
  for await (const entries of kv.entries(prefixRange(K.taskPrefix), 2000)) {
    for (const [key, raw] of entries) {
      const task = JSON.parse(raw) as Task;
      if (task.dependant_count !== undefined) continue; // migrated by an earlier, interrupted run
      const dependants = task.dependants ?? [];
      delete task.dependants;
      task.dependant_count = dependants.length;
      ops.push({ type: 'put', key, value: JSON.stringify(task) });
      for (const id of dependants) ops.push({ type: 'put', key: K.dependant(task.id, id), value: '' });
    }
    if (ops.length >= 4000) {
      await kv.write(ops, true);
      ops = [];
    }
  }
  ops.push({ type: 'put', key: K.version, value: STORE_FORMAT_VERSION });
  await kv.write(ops, true);
}

export async function openTaskStore(location: string, options: Partial<TaskStoreOptions> = {}): Promise<LevelTaskStore> {
  const kv = await openLevelKv(location);
  try {
    const store = new LevelTaskStore(kv, { ...DEFAULT_STORE_OPTIONS, ...options });
    await store.load();
    return store;
  } catch (err) {
    await kv.close();
    throw err;
  }
}

export class LevelTaskStore implements TaskStore {
  private readonly gc: GroupCommit;
  private readonly ready: ReadyIndex;
  private readonly leaseHeap = new MinHeap<TimeEntry>(earlier);
  private readonly dueHeap = new MinHeap<TimeEntry>(earlier);
  private readonly counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  private readonly listeners = new Set<(change: TaskChange) => void>();
  private readonly appliedListeners = new Set<(change: TaskChange) => void>();
  /** Parsed records of leased tasks (read again at accept, renew, complete); see remember(). */
  private readonly cache = new Map<string, Task>();
  private readonly taskIds: IdGenerator;
  private readonly eventIds: IdGenerator;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private sweeping = false;
  private closed = false;

  constructor(
    private readonly kv: Kv,
    private readonly opts: TaskStoreOptions,
  ) {
    this.gc = new GroupCommit(kv, {
      maxGroupOps: opts.maxGroupOps,
      // Operations read back only task records and idempotency keys before their batch is durable;
      // index and event keys skip the read-your-writes bookkeeping.
      readBack: (key) => key.startsWith(K.taskPrefix) || key.startsWith('i!'),
      // The dependants of a task are read as a range (p!<parent>!) inside operations.
      rangeBack: (key) => (key.startsWith(K.dependantPrefix) ? key.slice(0, key.indexOf('!', 2) + 1) : null),
    });
    this.ready = new ReadyIndex(opts.starvationMs);
    this.taskIds = ulidGenerator(opts.now, opts.random);
    this.eventIds = ulidGenerator(opts.now, opts.random);
  }

  // ---------------------------------------------------------------- open

  /** Rebuilds the in-memory indexes from the index keys, then sweeps what expired while closed. */
  async load(): Promise<void> {
    const version = await this.kv.get(K.version);
    if (version === undefined) {
      await this.kv.write([{ type: 'put', key: K.version, value: STORE_FORMAT_VERSION }], true);
    } else if (version === '2') {
      await migrateFormat2(this.kv);
    } else if (version !== STORE_FORMAT_VERSION) {
      throw new SwitchyardError('STORE_FAILED', `store format ${version} is not supported (expected ${STORE_FORMAT_VERSION})`);
    }
    for await (const keys of this.kv.keys(prefixRange(K.readyPrefix), 5000)) {
      for (const key of keys) {
        const { sig, lane, queuedAt, id } = parseReadyKey(key);
        this.ready.load({ sig, lane, at: queuedAt, id });
      }
    }
    for await (const keys of this.kv.keys(prefixRange(K.leasePrefix))) {
      const entries = keys.map(parseTimeKey);
      for (const entry of entries) pushInOrder(this.leaseHeap, entry);
      // Assigned and running tasks are counted from their records (the lease keys are their index).
      for (const raw of await this.kv.getMany(entries.map((e) => K.task(e.id)))) {
        if (raw !== undefined) this.counts[(JSON.parse(raw) as Task).status]++;
      }
    }
    for await (const keys of this.kv.keys(prefixRange(K.duePrefix))) {
      for (const key of keys) pushInOrder(this.dueHeap, parseTimeKey(key));
    }
    for (const status of COUNTED) {
      if (!STATUS_INDEXED.has(status)) continue;
      for await (const keys of this.kv.keys(prefixRange(K.statusPrefix(status)))) this.counts[status] += keys.length;
    }
    this.counts.queued = this.ready.size;
    for await (const keys of this.kv.keys({ ...prefixRange(K.eventPrefix), reverse: true, limit: 1 })) {
      this.eventIds.seed(keys[0]!.slice(K.eventPrefix.length));
    }
    for await (const keys of this.kv.keys({ ...prefixRange(K.taskPrefix), reverse: true, limit: 1 })) {
      this.taskIds.seed(keys[0]!.slice(K.taskPrefix.length));
    }
    await this.sweep();
    this.armTimer();
  }

  // ---------------------------------------------------------------- reads

  /**
   * A task as the serial path sees it: this operation's own writes, then the record cache
   * (every record written by an applied operation, newest first out), then the store. Records
   * are never mutated after they are written, so sharing the objects is safe.
   */
  private async readTask(tx: Tx | null, id: string): Promise<Task | undefined> {
    if (tx) {
      const own = tx.own(K.task(id));
      if (own !== undefined) return own === null ? undefined : (JSON.parse(own) as Task);
    }
    const cached = this.cache.get(id);
    if (cached) return cached;
    const raw = tx ? await tx.get(K.task(id)) : await this.gc.read(K.task(id));
    if (raw === undefined) return undefined;
    const task = JSON.parse(raw) as Task;
    this.remember(task);
    return task;
  }

  /**
   * Keeps the parsed record of a leased task, drops any other: the agent's accept, renewals and
   * result read it again soon. Caching every record would keep each new task alive long enough
   * to reach the old generation of the heap, which cost more in collection than it saved.
   */
  private remember(task: Task): void {
    this.cache.delete(task.id);
    if (task.lease === null) return;
    this.cache.set(task.id, task);
    if (this.cache.size > RECORD_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
  }

  private async mustRead(tx: Tx, id: string): Promise<Task> {
    const task = await this.readTask(tx, id);
    if (!task) throw new SwitchyardError('TASK_NOT_FOUND', `no task ${id}`, { task_id: id });
    return task;
  }

  /**
   * The task as it is on disk: a change not yet acknowledged (its batch still being written) is
   * not shown, so a reader never sees a state that a crash could take back.
   */
  async get(id: string): Promise<Task | undefined> {
    const raw = await this.kv.get(K.task(id));
    if (raw === undefined) return undefined;
    const task = JSON.parse(raw) as Task;
    if (task.dependant_count > 0) {
      const prefix = K.dependantsOf(id);
      const dependants: string[] = [];
      for await (const keys of this.kv.keys(prefixRange(prefix), 1000)) for (const key of keys) dependants.push(key.slice(prefix.length));
      task.dependants = dependants;
    }
    return task;
  }

  /** Ids of the tasks that depend on `task`, as the serial path sees them. */
  private async dependantsOf(tx: Tx, task: Task): Promise<string[]> {
    if (!task.dependant_count) return [];
    const prefix = K.dependantsOf(task.id);
    return (await tx.keys(prefix)).map((key) => key.slice(prefix.length));
  }

  // ---------------------------------------------------------------- writes

  private now(): number {
    return this.opts.now();
  }

  /**
   * Writes `after` over `before`: the record, the index keys that differ, and the in-memory
   * indexes once the operation succeeds. With `event`, also appends an audit event.
   */
  private write(tx: Tx, before: Task | null, after: Task, actor: string, reason: string): void {
    const statusChanged = !before || before.status !== after.status;
    let event: TaskEvent | null = null;
    if (statusChanged) {
      event = {
        id: this.eventIds(),
        at: after.updated_at,
        task_id: after.id,
        type: before ? 'transition' : 'created',
        from: before ? before.status : null,
        to: after.status,
        generation: after.generation,
        actor,
        reason,
      };
      tx.put(K.event(event.id), JSON.stringify(event));
      // The record lists its own events: the per-task view of the log costs no key of its own.
      // Bounded, since the record is rewritten on every change: a task that bounces for days
      // keeps its newest events here, and all of them stay in the global log.
      const ids = [...(before?.event_ids ?? []), event.id];
      after.event_ids = ids.length > MAX_EVENT_IDS ? ids.slice(ids.length - MAX_EVENT_IDS) : ids;
    }
    tx.put(K.task(after.id), JSON.stringify(after));
    const oldKeys = before ? indexKeysOf(before) : [];
    const newKeys = indexKeysOf(after);
    for (const key of oldKeys) if (!newKeys.includes(key)) tx.del(key);
    for (const key of newKeys) if (!oldKeys.includes(key)) tx.put(key);

    tx.onApply(() => {
      this.remember(after);
      const wasQueued = before?.status === 'queued' && before.queued_at !== null;
      const isQueued = after.status === 'queued' && after.queued_at !== null;
      const oldSig = wasQueued ? readySig(before) : '';
      const newSig = isQueued ? readySig(after) : '';
      const sameEntry = wasQueued && isQueued && before.queued_at === after.queued_at && oldSig === newSig && before.lane === after.lane;
      if (!sameEntry) {
        if (wasQueued) this.ready.remove({ id: before.id, lane: before.lane, at: before.queued_at! });
        if (isQueued) this.ready.add({ sig: newSig, lane: after.lane, at: after.queued_at!, id: after.id });
      }
      if (after.lease && after.lease.expires_at !== before?.lease?.expires_at) {
        this.leaseHeap.push({ at: after.lease.expires_at, id: after.id });
      }
      const due = after.status === 'pending' || after.status === 'failed' ? after.next_run_at : null;
      if (due !== null && due !== before?.next_run_at) this.dueHeap.push({ at: due, id: after.id });
      if (statusChanged) {
        if (before && IS_COUNTED.has(before.status)) this.counts[before.status]--;
        if (IS_COUNTED.has(after.status)) this.counts[after.status]++;
        this.counts.queued = this.ready.size;
      }
    });
    if (event) {
      const change: TaskChange = { task: after, before, event };
      if (this.appliedListeners.size > 0) tx.onApply(() => this.emitTo(this.appliedListeners, change));
      tx.onCommit(() => this.emitTo(this.listeners, change));
    }
  }

  /** A transition through the state table, with the fields every transition sets. */
  private transition(tx: Tx, task: Task, to: TaskStatus, patch: Partial<Task>, actor: string, reason: string): Task {
    assertTransition(task.id, task.status, to);
    const now = this.now();
    const after: Task = { ...task, ...patch, status: to, updated_at: now };
    if (to === 'queued') {
      after.queued_at = now;
      after.next_run_at = null;
    } else if (!('queued_at' in patch)) {
      after.queued_at = null;
    }
    if (!LEASED_STATUSES.has(to)) after.lease = null;
    if (to !== 'pending' && to !== 'failed') after.next_run_at = null;
    this.write(tx, task, after, actor, reason);
    return after;
  }

  private emitTo(listeners: ReadonlySet<(change: TaskChange) => void>, change: TaskChange): void {
    for (const listener of listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure must not undo or block a durable change.
      }
    }
  }

  healthy(): boolean {
    return !this.closed && this.gc.failed === null;
  }

  onChange(listener: (change: TaskChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onApplied(listener: (change: TaskChange) => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  private run<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new SwitchyardError('STORE_CLOSED', 'the store is closed'));
    const result = this.gc.submit(fn);
    void result.then(
      () => this.armTimer(),
      () => this.armTimer(),
    );
    return result;
  }

  // ---------------------------------------------------------------- create

  create(spec: TaskSpec, actor: string): Promise<CreateResult> {
    return this.createMany([spec], actor).then((r) => r[0]!);
  }

  createMany(rawSpecs: TaskSpec[], actor: string): Promise<CreateResult[]> {
    let plan;
    try {
      if (!Array.isArray(rawSpecs)) throw new SwitchyardError('VALIDATION_FAILED', 'tasks is invalid: must be an array');
      const where = (i: number) => (rawSpecs.length === 1 ? 'task' : `tasks[${i}]`);
      const specs = rawSpecs.map((s, i) => validateSpec(s, where(i)));
      const now = this.now();
      specs.forEach((s, i) => checkRunAt(s, now, where(i)));
      const keys = new Set<string>();
      for (const s of specs) {
        if (s.idempotency_key === undefined) continue;
        if (keys.has(s.idempotency_key)) {
          throw new SwitchyardError('VALIDATION_FAILED', `idempotency key '${s.idempotency_key}' is used twice in the batch`);
        }
        keys.add(s.idempotency_key);
      }
      plan = planBatch(specs);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.run(async (tx) => {
      const now = this.now();
      const results = new Array<CreateResult>(rawSpecs.length);
      const idOfRef = new Map<string, string>();
      // Records touched by this batch, newest version, so several new tasks can add themselves
      // as dependants of the same task.
      const touched = new Map<string, Task>();
      const readLatest = async (id: string) => touched.get(id) ?? (await this.readTask(tx, id));
      /** parent id -> the tasks of this batch that depend on it (its count is written once, below). */
      const newDependants = new Map<string, string[]>();

      for (const item of plan) {
        const { spec } = item;
        if (spec.idempotency_key !== undefined) {
          const existingId = await tx.get(K.idempotency(spec.idempotency_key));
          if (existingId !== undefined) {
            const existing = await readLatest(existingId);
            if (existing) {
              results[item.index] = { task: existing, created: false };
              if (spec.ref !== undefined) idOfRef.set(spec.ref, existing.id);
              continue;
            }
          }
        }
        const depIds: string[] = [];
        let waiting = false;
        for (const dep of item.deps) {
          const depId = 'ref' in dep ? idOfRef.get(dep.ref)! : dep.id;
          const depTask = await readLatest(depId);
          if (!depTask) {
            throw new SwitchyardError('UNKNOWN_DEPENDENCY', `task '${spec.title}' depends on ${depId}, which does not exist`, {
              dependency: depId,
            });
          }
          if (depTask.status === 'cancelled' || depTask.status === 'dead_letter') {
            throw new SwitchyardError(
              'DEPENDENCY_FAILED',
              `task '${spec.title}' depends on ${depId}, which is ${depTask.status}; retry it first`,
              { dependency: depId, status: depTask.status },
            );
          }
          if (depTask.status !== 'completed') waiting = true;
          // A ref and the id it resolves to (an idempotent hit) may name the same task twice.
          if (!depIds.includes(depId)) depIds.push(depId);
        }
        const id = this.taskIds();
        if (spec.ref !== undefined) idOfRef.set(spec.ref, id);
        const record = newTaskRecord(spec, id, depIds, actor, now, this.opts.taskDefaults);
        const delayed = record.run_at !== null && record.run_at > now;
        if (!waiting && !delayed) {
          record.status = 'queued';
          record.queued_at = now;
        } else {
          record.next_run_at = delayed ? record.run_at : null;
        }
        this.write(tx, null, record, actor, waiting ? 'waiting on dependencies' : delayed ? 'delayed until run_at' : 'created');
        if (spec.idempotency_key !== undefined) tx.put(K.idempotency(spec.idempotency_key), id);
        touched.set(id, record);
        for (const depId of depIds) {
          // A completed dependency has nothing to release any more: it gets no edge.
          if ((await readLatest(depId))!.status === 'completed') continue;
          // One key per edge: a new dependant costs one key, never a rewrite of a growing list.
          tx.put(K.dependant(depId, id));
          const list = newDependants.get(depId);
          if (list) list.push(id);
          else newDependants.set(depId, [id]);
        }
        results[item.index] = { task: record, created: true };
      }
      // Each task the batch depends on gets its count raised once, however many tasks of the
      // batch depend on it.
      for (const [depId, added] of newDependants) {
        const depTask = (await readLatest(depId))!;
        const count = (depTask.dependant_count ?? 0) + added.length;
        if (count > LIMITS.dependants) {
          throw new SwitchyardError(
            'LIMIT_EXCEEDED',
            `task ${depId} would have ${count} dependants, more than the limit of ${LIMITS.dependants}; chain the work through intermediate tasks`,
            { task_id: depId, dependants: count, limit: LIMITS.dependants },
          );
        }
        const updated = { ...depTask, dependant_count: count };
        this.write(tx, depTask, updated, actor, '');
        touched.set(depId, updated);
      }
      // Report the final version of the tasks created, with the dependants this batch gave them.
      return results.map((r) => {
        if (!r.created) return r;
        const task = touched.get(r.task.id) ?? r.task;
        const dependants = newDependants.get(task.id);
        return { task: dependants ? { ...task, dependants } : task, created: true };
      });
    });
  }

  // ---------------------------------------------------------------- leases

  private assign(tx: Tx, task: Task, agentId: string, actor: string): Task {
    const generation = task.generation + 1;
    return this.transition(
      tx,
      task,
      'assigned',
      { generation, lease: { agent_id: agentId, generation, expires_at: this.now() + task.timeouts.start_ms } },
      actor,
      `assigned to ${agentId}`,
    );
  }

  leaseNext(req: LeaseRequest): Promise<Task | null> {
    return this.run(async (tx) => {
      for (;;) {
        const entry = this.ready.pick(req, this.now(), req.exclude);
        if (!entry) return null;
        const task = await this.readTask(tx, entry.id);
        if (!task || task.status !== 'queued' || task.queued_at !== entry.at) {
          // An entry the index should not hold: drop it and look again.
          this.ready.remove(entry);
          continue;
        }
        return this.assign(tx, task, req.agentId, `agent:${req.agentId}`);
      }
    });
  }

  leaseTask(taskId: string, agent: AgentFilter): Promise<Task | null> {
    return this.run(async (tx) => {
      const task = await this.readTask(tx, taskId);
      if (!task || task.status !== 'queued') return null;
      // The same rule as leaseNext: a targeted lease must not bypass delegation, repos or capabilities.
      if (!agentMatches(agent, task)) return null;
      return this.assign(tx, task, agent.agentId, `agent:${agent.agentId}`);
    });
  }

  undelegate(taskId: string, actor: string): Promise<Task | null> {
    return this.run(async (tx) => {
      const task = await this.readTask(tx, taskId);
      if (!task) return null;
      if (task.status !== 'queued' || task.delegate === null) return task;
      const after: Task = { ...task, delegate: null, updated_at: this.now() };
      this.write(tx, task, after, actor, '');
      return after;
    });
  }

  /** The fence: the caller must name the current lease's generation and be its holder. */
  private checkLease(task: Task, generation: number, agentId: string): void {
    if (!task.lease || task.lease.generation !== generation || task.generation !== generation) {
      throw new SwitchyardError(
        'STALE_GENERATION',
        `task ${task.id}: generation ${generation} no longer holds a lease (current generation ${task.generation}, status ${task.status})`,
        { task_id: task.id, generation: task.generation, status: task.status },
      );
    }
    if (task.lease.agent_id !== agentId) {
      throw new SwitchyardError('NOT_LEASE_HOLDER', `task ${task.id} is leased to another agent`, { task_id: task.id });
    }
  }

  accept(taskId: string, generation: number, agentId: string): Promise<Task> {
    return this.run(async (tx) => {
      const task = await this.mustRead(tx, taskId);
      this.checkLease(task, generation, agentId);
      if (task.status === 'running') return task; // a repeated accept after a reconnect
      const now = this.now();
      return this.transition(
        tx,
        task,
        'running',
        {
          attempts: task.attempts + 1,
          // Like renew: the lease never runs past the attempt's overall deadline.
          lease: { ...task.lease!, expires_at: now + Math.min(task.timeouts.lease_ms, task.timeouts.overall_ms), started_at: now },
        },
        `agent:${agentId}`,
        `accepted, attempt ${task.attempts + 1}`,
      );
    });
  }

  renew(taskId: string, generation: number, agentId: string): Promise<Task> {
    return this.run(async (tx) => {
      const task = await this.mustRead(tx, taskId);
      this.checkLease(task, generation, agentId);
      const lease = task.lease!;
      const now = this.now();
      let expires: number;
      if (task.status === 'running') {
        const deadline = (lease.started_at ?? now) + task.timeouts.overall_ms;
        expires = Math.min(now + task.timeouts.lease_ms, deadline);
      } else {
        expires = now + task.timeouts.start_ms;
      }
      if (expires <= lease.expires_at) return task;
      const after: Task = { ...task, lease: { ...lease, expires_at: expires }, updated_at: now };
      this.write(tx, task, after, `agent:${agentId}`, '');
      return after;
    });
  }

  complete(taskId: string, generation: number, agentId: string, result: unknown): Promise<Task> {
    return this.run(async (tx) => {
      const task = await this.mustRead(tx, taskId);
      this.checkLease(task, generation, agentId);
      const to: TaskStatus = task.review ? 'review' : 'completed';
      if (task.status !== 'running') assertTransition(task.id, task.status, to);
      const after = this.transition(tx, task, to, { result: result ?? null }, `agent:${agentId}`, to === 'review' ? 'awaiting review' : 'completed');
      if (to === 'completed') await this.releaseDependants(tx, after, `agent:${agentId}`);
      return after;
    });
  }

  fail(taskId: string, generation: number, agentId: string, error: TaskError): Promise<Task> {
    return this.run(async (tx) => {
      const task = await this.mustRead(tx, taskId);
      this.checkLease(task, generation, agentId);
      // A failure before the attempt started still counts, so a task that cannot start ends.
      const attempts = task.status === 'assigned' ? task.attempts + 1 : task.attempts;
      return this.failAttempt(tx, { ...task, attempts }, task, error, `agent:${agentId}`);
    });
  }

  /** An attempt ended badly: retry after backoff, or dead-letter when out of attempts. */
  private async failAttempt(tx: Tx, task: Task, before: Task, error: TaskError, actor: string): Promise<Task> {
    const lastError = { code: error.code, message: error.message, retryable: error.retryable !== false, ...(error.details !== undefined ? { details: error.details } : {}) };
    if (error.retryable !== false && task.attempts < task.max_attempts) {
      const delay = retryDelayMs(task.attempts, this.opts.random(), this.opts.backoff);
      const after = this.transitionFrom(tx, before, task, 'failed', { last_error: lastError, next_run_at: this.now() + delay }, actor, `${error.code}: retry in ${delay} ms`);
      return after;
    }
    const why = error.retryable === false ? 'not retryable' : `out of attempts (${task.attempts}/${task.max_attempts})`;
    const after = this.transitionFrom(tx, before, task, 'dead_letter', { last_error: lastError }, actor, `${error.code}: ${why}`);
    await this.cascade(tx, after, 'dead_letter', actor);
    return after;
  }

  /** Like transition(), with the record's fields taken from `task` but the old keys from `before`. */
  private transitionFrom(tx: Tx, before: Task, task: Task, to: TaskStatus, patch: Partial<Task>, actor: string, reason: string): Task {
    assertTransition(task.id, before.status, to);
    const now = this.now();
    const after: Task = { ...task, ...patch, status: to, updated_at: now, lease: null, queued_at: null };
    if (to !== 'pending' && to !== 'failed') after.next_run_at = null;
    this.write(tx, before, after, actor, reason);
    return after;
  }

  release(taskId: string, generation: number, agentId: string, reason: string, options: ReleaseOptions = {}): Promise<Task> {
    return this.run(async (tx) => {
      const task = await this.mustRead(tx, taskId);
      this.checkLease(task, generation, agentId);
      const delegate = task.delegate === agentId ? null : task.delegate;
      const patch: Partial<Task> = { delegate };
      // A host fault is not the task's failure: the attempt the accept counted is given back.
      if (options.hostFault) {
        if (task.status === 'running') patch.attempts = Math.max(0, task.attempts - 1);
        patch.last_error = options.hostFault;
      }
      return this.transition(tx, task, 'queued', patch, `agent:${agentId}`, `released: ${reason}`);
    });
  }

  // ---------------------------------------------------------------- operator actions

  cancel(taskId: string, actor: string, reason = 'cancelled'): Promise<Task> {
    return this.run(async (tx) => {
      const task = await this.mustRead(tx, taskId);
      if (FINAL_STATUSES.has(task.status)) assertTransition(task.id, task.status, 'cancelled');
      const after = this.transition(tx, task, 'cancelled', {}, actor, reason);
      await this.cascade(tx, after, 'cancelled', actor);
      return after;
    });
  }

  retry(taskId: string, actor: string): Promise<Task> {
    return this.run(async (tx) => {
      const task = await this.mustRead(tx, taskId);
      if (task.status === 'failed') return this.transition(tx, task, 'queued', {}, actor, 'retried early by operator');
      // The table allows assigned/running -> queued for leases; an operator retries only what has stopped.
      if (task.status !== 'dead_letter') throw illegal(task, 'queued', 'only a dead-lettered or failed task can be retried');
      const failedDep = await this.failedDependency(tx, task);
      if (failedDep) {
        throw new SwitchyardError(
          'DEPENDENCY_FAILED',
          `task ${task.id} depends on ${failedDep.id}, which is ${failedDep.status}; retry it first`,
          { dependency: failedDep.id, status: failedDep.status },
        );
      }
      return this.revive(tx, task, actor, 'retried by operator', true);
    });
  }

  approve(taskId: string, actor: string): Promise<Task> {
    return this.run(async (tx) => {
      const task = await this.mustRead(tx, taskId);
      // The table allows running -> completed for agents; an operator may only approve a review.
      if (task.status !== 'review') throw illegal(task, 'completed', 'only a task in review can be approved');
      const after = this.transition(tx, task, 'completed', {}, actor, 'approved');
      await this.releaseDependants(tx, after, actor);
      return after;
    });
  }

  rejectReview(taskId: string, actor: string, reason: string): Promise<Task> {
    return this.run(async (tx) => {
      const task = await this.mustRead(tx, taskId);
      if (task.status !== 'review') throw illegal(task, 'failed', 'only a task in review can be rejected');
      return this.failAttempt(tx, task, task, { code: 'REVIEW_REJECTED', message: reason, retryable: true }, actor);
    });
  }

  // ---------------------------------------------------------------- dependencies

  private async depsCompleted(tx: Tx, task: Task): Promise<boolean> {
    for (const depId of task.depends_on) {
      const dep = await this.readTask(tx, depId);
      if (!dep || dep.status !== 'completed') return false;
    }
    return true;
  }

  /** The first dependency that is dead-lettered or cancelled, if any. */
  private async failedDependency(tx: Tx, task: Task): Promise<Task | undefined> {
    for (const depId of task.depends_on) {
      const dep = await this.readTask(tx, depId);
      if (dep && (dep.status === 'dead_letter' || dep.status === 'cancelled')) return dep;
    }
    return undefined;
  }

  /** A dependency completed: queue each dependant whose other dependencies are done and which is due. */
  private async releaseDependants(tx: Tx, task: Task, actor: string): Promise<void> {
    for (const id of await this.dependantsOf(tx, task)) {
      const dependant = await this.readTask(tx, id);
      if (!dependant || dependant.status !== 'pending') continue;
      if (!(await this.depsCompleted(tx, dependant))) continue;
      const now = this.now();
      if (dependant.run_at !== null && dependant.run_at > now) {
        if (dependant.next_run_at !== dependant.run_at) {
          this.write(tx, dependant, { ...dependant, next_run_at: dependant.run_at, updated_at: now }, actor, '');
        }
        continue;
      }
      this.transition(tx, dependant, 'queued', {}, actor, `dependencies completed`);
    }
  }

  /**
   * The dependency policy. When a task dead-letters, its waiting dependants (transitively) are
   * dead-lettered with DEPENDENCY_FAILED, so an operator sees them and can retry; when a task is
   * cancelled, its waiting dependants are cancelled. Retrying the failed task revives them.
   */
  private async cascade(tx: Tx, root: Task, to: 'dead_letter' | 'cancelled', actor: string): Promise<void> {
    const work = [root];
    while (work.length > 0) {
      const parent = work.pop()!;
      for (const id of await this.dependantsOf(tx, parent)) {
        const dependant = await this.readTask(tx, id);
        if (!dependant) continue;
        const blocked = dependant.status === 'dead_letter' && dependant.last_error?.code === 'DEPENDENCY_FAILED';
        if (dependant.status !== 'pending' && !(to === 'cancelled' && blocked)) continue;
        const reason = `dependency ${parent.id} is ${to}`;
        const patch: Partial<Task> =
          to === 'dead_letter'
            ? { last_error: { code: 'DEPENDENCY_FAILED', message: reason, retryable: true, details: { dependency: parent.id } } }
            : {};
        work.push(this.transition(tx, dependant, to, patch, actor, reason));
      }
    }
  }

  /** dead_letter -> queued (or pending while dependencies are not done); revives blocked dependants. */
  private async revive(tx: Tx, task: Task, actor: string, reason: string, resetAttempts: boolean): Promise<Task> {
    const ready = await this.depsCompleted(tx, task);
    const now = this.now();
    const delayed = task.run_at !== null && task.run_at > now;
    const patch: Partial<Task> = resetAttempts ? { attempts: 0 } : {};
    const after =
      ready && !delayed
        ? this.transition(tx, task, 'queued', patch, actor, reason)
        : this.transition(tx, task, 'pending', { ...patch, next_run_at: delayed ? task.run_at : null }, actor, reason);
    for (const id of await this.dependantsOf(tx, task)) {
      const dependant = await this.readTask(tx, id);
      if (dependant?.status === 'dead_letter' && dependant.last_error?.code === 'DEPENDENCY_FAILED') {
        const depTask = dependant.last_error.details as { dependency?: string } | undefined;
        if (depTask?.dependency !== task.id) continue;
        // Still blocked by another failed dependency: stay dead-lettered, now naming that one, so
        // that retrying it revives this task.
        const other = await this.failedDependency(tx, dependant);
        if (other) {
          const reason = `dependency ${other.id} is ${other.status}`;
          const lastError = { code: 'DEPENDENCY_FAILED', message: reason, retryable: true, details: { dependency: other.id } };
          this.write(tx, dependant, { ...dependant, last_error: lastError, updated_at: this.now() }, actor, '');
          continue;
        }
        await this.revive(tx, dependant, actor, `dependency ${task.id} retried`, false);
      }
    }
    return after;
  }

  // ---------------------------------------------------------------- sweeper

  /** Requeues expired leases and queues due tasks. Returns how many tasks it moved. */
  async sweep(): Promise<number> {
    if (this.sweeping || this.closed) return 0;
    this.sweeping = true;
    let moved = 0;
    try {
      for (;;) {
        const n = await this.gc.submit((tx) => this.sweepChunk(tx));
        moved += n;
        if (n < SWEEP_CHUNK) break;
      }
    } finally {
      this.sweeping = false;
      this.armTimer();
    }
    return moved;
  }

  private async sweepChunk(tx: Tx): Promise<number> {
    const now = this.now();
    let moved = 0;
    while (moved < SWEEP_CHUNK) {
      const top = this.leaseHeap.peek();
      if (!top || top.at > now) break;
      this.leaseHeap.pop();
      const task = await this.readTask(tx, top.id);
      if (!task?.lease || task.lease.expires_at !== top.at) continue; // renewed or released since
      await this.expire(tx, task, now);
      moved++;
    }
    while (moved < SWEEP_CHUNK) {
      const top = this.dueHeap.peek();
      if (!top || top.at > now) break;
      this.dueHeap.pop();
      const task = await this.readTask(tx, top.id);
      if (!task || task.next_run_at !== top.at) continue;
      if (task.status === 'failed') {
        this.transition(tx, task, 'queued', {}, 'sweeper', 'backoff elapsed');
      } else if (task.status === 'pending') {
        if (await this.depsCompleted(tx, task)) this.transition(tx, task, 'queued', {}, 'sweeper', 'run_at reached');
        else this.write(tx, task, { ...task, next_run_at: null, updated_at: now }, 'sweeper', '');
      }
      moved++;
    }
    return moved;
  }

  private async expire(tx: Tx, task: Task, now: number): Promise<void> {
    const lease = task.lease!;
    if (task.status === 'assigned') {
      const delegate = task.delegate === lease.agent_id ? null : task.delegate;
      this.transition(tx, task, 'queued', { delegate }, 'sweeper', `not accepted by ${lease.agent_id} in time`);
      return;
    }
    // Renewals stop at the overall deadline, so a lease that reached it means the attempt ran too long;
    // judged by the lease, not by when the sweeper happened to run.
    const overall = lease.started_at !== undefined && lease.expires_at >= lease.started_at + task.timeouts.overall_ms;
    const code = overall ? 'TASK_TIMEOUT' : 'LEASE_EXPIRED';
    const message = overall
      ? `attempt ran longer than ${task.timeouts.overall_ms} ms`
      : `lease of ${lease.agent_id} expired without renewal`;
    if (task.attempts < task.max_attempts) {
      this.transition(tx, task, 'queued', { last_error: { code, message, retryable: true } }, 'sweeper', `${code}: requeued`);
    } else {
      const after = this.transition(tx, task, 'dead_letter', { last_error: { code, message, retryable: true } }, 'sweeper', `${code}: out of attempts`);
      await this.cascade(tx, after, 'dead_letter', 'sweeper');
    }
  }

  /** One timer for the earliest lease expiry or due time; no polling. */
  private armTimer(): void {
    if (!this.opts.autoSweep || this.closed) return;
    const next = Math.min(this.leaseHeap.peek()?.at ?? Infinity, this.dueHeap.peek()?.at ?? Infinity);
    if (next === Infinity || (this.timer && next >= this.timerAt)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    const delay = Math.max(0, Math.min(next - this.now(), 2 ** 31 - 1));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.sweep().catch(() => undefined);
    }, delay);
    this.timer.unref();
  }

  // ---------------------------------------------------------------- queries

  /**
   * Pages through an index: the lease keys for `assigned`, `running` and an agent's tasks (in
   * lease expiry order), `s!<status>` for any other status, else all records (both in id order).
   * The cursor (`next`, passed back as `after`) is the index key after its prefix: the task id
   * for status pages and all tasks, an opaque string for lease pages.
   */
  async list(query: ListQuery): Promise<Page<Task>> {
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
    let prefix: string;
    let idOf: (rest: string) => string = (rest) => rest;
    if (query.agent !== undefined || (query.status !== undefined && LEASED_STATUSES.has(query.status))) {
      prefix = K.leasePrefix;
      idOf = (rest) => rest.slice(rest.indexOf('!') + 1);
    } else if (query.status !== undefined) {
      prefix = K.statusPrefix(query.status);
    } else {
      prefix = K.taskPrefix;
    }
    const range = { gt: query.after !== undefined ? prefix + query.after : prefix, lt: `${prefix}\xff` };
    const items: Task[] = [];
    let scanned = 0;
    let cursor: string | null = null;
    for await (const keys of this.kv.keys(range, 500)) {
      const rests = keys.map((k) => k.slice(prefix.length));
      const raws = await this.kv.getMany(rests.map((r) => K.task(idOf(r))));
      for (let i = 0; i < rests.length; i++) {
        scanned++;
        cursor = rests[i]!;
        const raw = raws[i];
        if (raw === undefined) continue;
        const task = JSON.parse(raw) as Task;
        if (query.status !== undefined && task.status !== query.status) continue;
        if (query.lane !== undefined && task.lane !== query.lane) continue;
        if (query.repo !== undefined && task.repo !== query.repo) continue;
        if (query.agent !== undefined && task.lease?.agent_id !== query.agent) continue;
        items.push(task);
        if (items.length >= limit) return { items, next: cursor };
      }
      // Bounded work per page: a sparse filter returns a short page and a cursor to go on.
      if (scanned >= LIST_SCAN_LIMIT) return { items, next: cursor };
    }
    return { items, next: null };
  }

  async leasedBy(agentId: string): Promise<Task[]> {
    const out: Task[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.list({ agent: agentId, limit: 1000, ...(after ? { after } : {}) });
      out.push(...page.items);
      if (!page.next) return out;
      after = page.next;
    }
  }

  async events(query: EventQuery): Promise<Page<TaskEvent>> {
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
    const items: TaskEvent[] = [];
    if (query.taskId !== undefined) {
      const task = await this.get(query.taskId);
      let ids = task?.event_ids ?? [];
      if (query.after !== undefined) ids = ids.filter((id) => id > query.after!);
      else if (query.since !== undefined) {
        const from = encodeTime(query.since);
        ids = ids.filter((id) => id >= from);
      }
      const raws = await this.kv.getMany(ids.slice(0, limit).map((id) => K.event(id)));
      for (const raw of raws) if (raw !== undefined) items.push(JSON.parse(raw) as TaskEvent);
    } else {
      const start =
        query.after !== undefined
          ? { gt: K.event(query.after) }
          : query.since !== undefined
            ? { gte: K.event(encodeTime(query.since)) }
            : { gte: K.eventPrefix };
      for await (const entries of this.kv.entries({ ...start, lt: `${K.eventPrefix}\xff`, limit })) {
        for (const [, raw] of entries) items.push(JSON.parse(raw) as TaskEvent);
      }
    }
    return { items, next: items.length === limit ? items[items.length - 1]!.id : null };
  }

  stats(): QueueStats {
    const byStatus: QueueStats['byStatus'] = { queued: this.ready.size };
    for (const s of COUNTED) byStatus[s] = this.counts[s];
    return { queued: this.ready.depth(), byStatus, leases: this.counts.assigned + this.counts.running };
  }

  /** Runs with the serial path held, so the scans see one state of the store. */
  verifyIntegrity(): Promise<IntegrityReport> {
    return this.gc.exclusive(() => this.checkIntegrity());
  }

  private async checkIntegrity(): Promise<IntegrityReport> {
    const problems: string[] = [];
    const expected = new Set<string>();
    const idempotency = new Map<string, string>();
    let tasks = 0;
    const eventOwner = new Map<string, string>();
    const fullLists = new Set<string>();
    let listedFound = 0;
    const counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
    const dependantCounts = new Map<string, number>();
    const dependsOn = new Map<string, readonly string[]>();
    for await (const entries of this.kv.entries(prefixRange(K.taskPrefix))) {
      for (const [key, raw] of entries) {
        tasks++;
        const task = JSON.parse(raw) as Task;
        dependantCounts.set(task.id, task.dependant_count);
        dependsOn.set(task.id, task.depends_on);
        if (key !== K.task(task.id)) problems.push(`${key} holds task ${task.id}`);
        for (const k of indexKeysOf(task)) expected.add(k);
        counts[task.status]++;
        if (task.idempotency_key !== null) idempotency.set(task.idempotency_key, task.id);
        if (task.event_ids.length >= MAX_EVENT_IDS) fullLists.add(task.id);
        for (const id of task.event_ids) {
          if (eventOwner.has(id)) problems.push(`event ${id} is listed by ${eventOwner.get(id)} and ${task.id}`);
          eventOwner.set(id, task.id);
        }
        if (task.lease && task.lease.generation !== task.generation) problems.push(`${task.id}: lease generation ${task.lease.generation} != ${task.generation}`);
        if (LEASED_STATUSES.has(task.status) !== (task.lease !== null)) {
          problems.push(`${task.id}: status ${task.status} with lease ${JSON.stringify(task.lease)}`);
        }
      }
    }
    const found = new Set<string>();
    // Dependency edges: each names a task that depends on its parent, and each parent counts its own.
    const edges = new Map<string, number>();
    for await (const keys of this.kv.keys(prefixRange(K.dependantPrefix))) {
      for (const key of keys) {
        const [, parent = '', child = ''] = key.split('!');
        edges.set(parent, (edges.get(parent) ?? 0) + 1);
        if (!dependsOn.get(child)?.includes(parent)) problems.push(`edge ${key}: ${child} does not depend on ${parent}`);
      }
    }
    for (const [id, count] of dependantCounts) {
      if (count !== (edges.get(id) ?? 0)) problems.push(`${id}: dependant_count ${count}, but ${edges.get(id) ?? 0} dependency edges`);
    }
    for (const prefix of ['s!', 'r!', 'l!', 'd!']) {
      for await (const keys of this.kv.keys(prefixRange(prefix))) {
        for (const key of keys) {
          found.add(key);
          if (!expected.has(key)) problems.push(`index key ${key} has no matching record`);
        }
      }
    }
    for (const key of expected) if (!found.has(key)) problems.push(`record implies ${key}, which is missing`);
    // Every event in the log belongs to the task that lists it, and every listed event exists.
    for await (const entries of this.kv.entries(prefixRange(K.eventPrefix))) {
      for (const [key, raw] of entries) {
        const id = key.slice(K.eventPrefix.length);
        const owner = eventOwner.get(id);
        const taskId = (JSON.parse(raw) as TaskEvent).task_id;
        if (owner === undefined) {
          // Only a task whose list is full may have dropped its oldest ids.
          if (!fullLists.has(taskId)) problems.push(`event ${id} is not listed by its task ${taskId}`);
        } else if (owner !== taskId) problems.push(`event ${id} of ${taskId} is listed by ${owner}`);
        else listedFound++;
      }
    }
    if (listedFound !== eventOwner.size) problems.push(`the records list ${eventOwner.size} events, the log holds ${listedFound} of them`);
    for await (const entries of this.kv.entries(prefixRange('i!'))) {
      for (const [key, id] of entries) {
        if (idempotency.get(key.slice(2)) !== id) problems.push(`idempotency ${key} points at ${id}, which does not carry that key`);
      }
    }
    for (const entry of this.ready.entries()) {
      const key = K.ready(entry.sig, entry.lane, entry.at, entry.id);
      if (!found.has(key)) problems.push(`ready index holds ${entry.id}, the store has no ${key}`);
    }
    if (this.ready.size !== counts.queued) problems.push(`ready index holds ${this.ready.size}, store holds ${counts.queued} queued`);
    for (const s of COUNTED) if (this.counts[s] !== counts[s]) problems.push(`count of ${s}: memory ${this.counts[s]}, store ${counts[s]}`);
    return { ok: problems.length === 0, tasks, problems: problems.slice(0, 100) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.gc.close();
    await this.kv.close();
  }
}
