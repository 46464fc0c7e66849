/**
 * The integrity check of a Kv store: every index key against the records (keys.ts indexKeysOf),
 * dependency edges against `depends_on` and `dependant_count`, events against the ids records
 * list, idempotency keys against their tasks (or the reservation of a removed one), and the in-memory indexes against the disk. A full
 * scan; the caller holds the serial path so that it sees one state of the store.
 */
import { TASK_STATUSES, type Task, type TaskEvent, type TaskStatus } from '../../shared/task.js';
import { MAX_EVENT_IDS } from '../queue/changes.js';
import { LEASED_STATUSES } from '../queue/states.js';
import { COUNTED, type MemoryIndexes } from './indexes.js';
import { INDEX_PREFIXES, indexKeysOf, K, parseDependantKey, parseReservedKey } from './keys.js';
import { prefixRange, type Kv } from './kv.js';
import type { IntegrityReport } from './task-store.js';

export async function checkIntegrity(kv: Kv, indexes: MemoryIndexes): Promise<IntegrityReport> {
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
  for await (const entries of kv.entries(prefixRange(K.taskPrefix))) {
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
  for await (const keys of kv.keys(prefixRange(K.dependantPrefix))) {
    for (const key of keys) {
      const { parent, child } = parseDependantKey(key);
      edges.set(parent, (edges.get(parent) ?? 0) + 1);
      if (!dependsOn.get(child)?.includes(parent)) problems.push(`edge ${key}: ${child} does not depend on ${parent}`);
    }
  }
  for (const [id, count] of dependantCounts) {
    if (count !== (edges.get(id) ?? 0)) problems.push(`${id}: dependant_count ${count}, but ${edges.get(id) ?? 0} dependency edges`);
  }
  for (const prefix of INDEX_PREFIXES) {
    for await (const keys of kv.keys(prefixRange(prefix))) {
      for (const key of keys) {
        found.add(key);
        if (!expected.has(key)) problems.push(`index key ${key} has no matching record`);
      }
    }
  }
  for (const key of expected) if (!found.has(key)) problems.push(`record implies ${key}, which is missing`);
  // Every event in the log belongs to the task that lists it, and every listed event exists.
  for await (const entries of kv.entries(prefixRange(K.eventPrefix))) {
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
  // A key whose task retention removed stays reserved (k!<releaseAt>!<key>) until it is released.
  const reserved = new Map<string, string>();
  for await (const entries of kv.entries(prefixRange(K.reservedPrefix))) {
    for (const [reservation, id] of entries) reserved.set(parseReservedKey(reservation).key, id);
  }
  for await (const entries of kv.entries(prefixRange(K.idempotencyPrefix))) {
    for (const [key, id] of entries) {
      const name = key.slice(K.idempotencyPrefix.length);
      if (idempotency.get(name) === id) continue;
      if (reserved.get(name) === id && !dependantCounts.has(id)) continue;
      problems.push(`idempotency ${key} points at ${id}, which does not carry that key`);
    }
  }
  const { ready } = indexes;
  for (const entry of ready.entries()) {
    const key = K.ready(entry.sig, entry.lane, entry.at, entry.id);
    if (!found.has(key)) problems.push(`ready index holds ${entry.id}, the store has no ${key}`);
  }
  if (ready.size !== counts.queued) problems.push(`ready index holds ${ready.size}, store holds ${counts.queued} queued`);
  for (const s of COUNTED) if (indexes.counts[s] !== counts[s]) problems.push(`count of ${s}: memory ${indexes.counts[s]}, store ${counts[s]}`);
  return { ok: problems.length === 0, tasks, problems: problems.slice(0, 100) };
}
