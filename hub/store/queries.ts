/**
 * Reads of the Kv stores that are not on the serial path: a task, pages of tasks and of events.
 * They read what is on disk, so a reader never sees a change that a crash could take back.
 */
import type { Task, TaskEvent } from '../../shared/task.js';
import { LEASED_STATUSES } from '../queue/states.js';
import { encodeTime } from './ids.js';
import { K } from './keys.js';
import { prefixRange, type Kv } from './kv.js';
import type { EventQuery, ListQuery, Page } from './task-store.js';

/**
 * Records one page may read, whatever its filters. A sparse filter (a title search, a repo, a lane
 * within a status) returns a short or empty page and a cursor to go on from, so a page costs at
 * most this many index keys and record reads (about 40 ms on a laptop for 10,000 small records)
 * however many tasks the store holds: 100,000 tasks are searched in ten pages, each as fast.
 */
const LIST_SCAN_LIMIT = 10_000;

/** A task as it is on disk, with the ids of its dependants when it has any. */
export async function getTask(kv: Kv, id: string): Promise<Task | undefined> {
  const raw = await kv.get(K.task(id));
  if (raw === undefined) return undefined;
  const task = JSON.parse(raw) as Task;
  if (task.dependant_count > 0) {
    const prefix = K.dependantsOf(id);
    const dependants: string[] = [];
    for await (const keys of kv.keys(prefixRange(prefix), 1000)) for (const key of keys) dependants.push(key.slice(prefix.length));
    task.dependants = dependants;
  }
  return task;
}

/**
 * Pages through an index: the lease keys for `assigned`, `running` and an agent's tasks (in
 * lease expiry order), `s!<status>` for any other status, else all records (both in id order).
 * The cursor (`next`, passed back as `after`) is the index key after its prefix: the task id
 * for status pages and all tasks, an opaque string for lease pages. `newest` reads the same index
 * backwards. `q` matches the title or the id, case-insensitively: there is no full-text index, so
 * it filters the records the page reads (a cheap test on the raw JSON first, then the title).
 */
export async function listTasks(kv: Kv, query: ListQuery): Promise<Page<Task>> {
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
  const range = query.newest
    ? { gt: prefix, lt: query.after !== undefined ? prefix + query.after : `${prefix}\xff`, reverse: true }
    : { gt: query.after !== undefined ? prefix + query.after : prefix, lt: `${prefix}\xff` };
  const needle = query.q?.toLowerCase();
  const items: Task[] = [];
  let scanned = 0;
  let cursor: string | null = null;
  for await (const keys of kv.keys(range, 500)) {
    const rests = keys.map((k) => k.slice(prefix.length));
    const raws = await kv.getMany(rests.map((r) => K.task(idOf(r))));
    for (let i = 0; i < rests.length; i++) {
      scanned++;
      cursor = rests[i]!;
      const raw = raws[i];
      if (raw === undefined) continue;
      // Most records fail a search here, before the cost of parsing them.
      if (needle !== undefined && !raw.toLowerCase().includes(needle) && !/\\u/.test(raw)) continue;
      const task = JSON.parse(raw) as Task;
      if (needle !== undefined && !task.title.toLowerCase().includes(needle) && !task.id.toLowerCase().includes(needle)) continue;
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

/** Every task an agent holds a lease on (all pages). */
export async function leasedBy(kv: Kv, agentId: string): Promise<Task[]> {
  const out: Task[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await listTasks(kv, { agent: agentId, limit: 1000, ...(after ? { after } : {}) });
    out.push(...page.items);
    if (!page.next) return out;
    after = page.next;
  }
}

/** A page of the audit log: one task's (from the ids its record lists) or the global one. */
export async function listEvents(kv: Kv, query: EventQuery): Promise<Page<TaskEvent>> {
  const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
  const items: TaskEvent[] = [];
  if (query.taskId !== undefined) {
    const task = await getTask(kv, query.taskId);
    let ids = task?.event_ids ?? [];
    if (query.after !== undefined) ids = ids.filter((id) => id > query.after!);
    else if (query.since !== undefined) {
      const from = encodeTime(query.since);
      ids = ids.filter((id) => id >= from);
    }
    const raws = await kv.getMany(ids.slice(0, limit).map((id) => K.event(id)));
    for (const raw of raws) if (raw !== undefined) items.push(JSON.parse(raw) as TaskEvent);
  } else {
    const start =
      query.after !== undefined
        ? { gt: K.event(query.after) }
        : query.since !== undefined
          ? { gte: K.event(encodeTime(query.since)) }
          : { gte: K.eventPrefix };
    for await (const entries of kv.entries({ ...start, lt: `${K.eventPrefix}\xff`, limit })) {
      for (const [, raw] of entries) items.push(JSON.parse(raw) as TaskEvent);
    }
  }
  return { items, next: items.length === limit ? items[items.length - 1]!.id : null };
}
