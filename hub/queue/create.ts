/**
 * Creating tasks: the checks a batch must pass before it reaches the store (`planCreate`), and
 * the rule that turns a planned batch into new records (`createTasks`): idempotent hits, the
 * dependencies of each task (refs of the batch or existing ids), the state it starts in, and the
 * dependant counts of the tasks it waits for. All or nothing: a rule that throws writes nothing.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Task } from '../../shared/task.js';
import type { Changes } from './changes.js';
import { addDependants, checkNewDependency } from './dependencies.js';
import { initialRoute } from './route.js';
import { checkRunAt, newTaskRecord, planBatch, validateSpec, type PlannedTask } from './normalize.js';

export interface Created {
  task: Task;
  /** False when the idempotency key already existed: the existing task, nothing written. */
  created: boolean;
}

/**
 * Validates a batch (schema, limits, run_at against `now`, idempotency keys unique within it)
 * and orders it so that each task comes after the batch tasks it depends on. Throws
 * VALIDATION_FAILED or DEPENDENCY_CYCLE.
 */
export function planCreate(rawSpecs: unknown, now: number): PlannedTask[] {
  if (!Array.isArray(rawSpecs)) throw new SwitchyardError('VALIDATION_FAILED', 'tasks is invalid: must be an array');
  const where = (i: number) => (rawSpecs.length === 1 ? 'task' : `tasks[${i}]`);
  const specs = rawSpecs.map((s: unknown, i) => validateSpec(s, where(i)));
  specs.forEach((s, i) => checkRunAt(s, now, where(i)));
  const keys = new Set<string>();
  for (const s of specs) {
    if (s.idempotency_key === undefined) continue;
    if (keys.has(s.idempotency_key)) {
      throw new SwitchyardError('VALIDATION_FAILED', `idempotency key '${s.idempotency_key}' is used twice in the batch`);
    }
    keys.add(s.idempotency_key);
  }
  return planBatch(specs);
}

/** The new records of a planned batch of `size` specs; results in the order the specs came. */
export async function createTasks(ws: Changes, plan: readonly PlannedTask[], size: number, actor: string): Promise<Created[]> {
  const now = ws.now;
  const results = new Array<Created>(size);
  const idOfRef = new Map<string, string>();
  /** parent id -> the tasks of this batch that depend on it (its count is raised once, below). */
  const newDependants = new Map<string, string[]>();

  for (const item of plan) {
    const { spec } = item;
    if (spec.idempotency_key !== undefined) {
      const existingId = await ws.tx.idOfKey(spec.idempotency_key);
      const existing = existingId === undefined ? undefined : await ws.read(existingId);
      if (existing) {
        results[item.index] = { task: existing, created: false };
        if (spec.ref !== undefined) idOfRef.set(spec.ref, existing.id);
        continue;
      }
      if (existingId !== undefined) {
        // The key names a task retention removed; it stays reserved for idempotencyKeepMs.
        throw new SwitchyardError(
          'IDEMPOTENCY_KEY_ARCHIVED',
          `idempotency key '${spec.idempotency_key}' belongs to task ${existingId}, which was archived; the key is reserved for a while after that (docs/operations.md, "Retention and compaction"); use another key, or show the task`,
          { task_id: existingId, idempotency_key: spec.idempotency_key },
        );
      }
    }
    const depIds: string[] = [];
    let waiting = false;
    for (const dep of item.deps) {
      const depId = 'ref' in dep ? idOfRef.get(dep.ref)! : dep.id;
      const depTask = await ws.read(depId);
      checkNewDependency(spec, depId, depTask);
      if (depTask.status !== 'completed') waiting = true;
      // A ref and the id it resolves to (an idempotent hit) may name the same task twice.
      if (!depIds.includes(depId)) depIds.push(depId);
    }
    const id = ws.tx.newTaskId();
    if (spec.ref !== undefined) idOfRef.set(spec.ref, id);
    const record = newTaskRecord(spec, id, depIds, actor, now, ws.policy.taskDefaults);
    const routed = initialRoute(record, ws.policy.routing ?? null, now);
    if (routed) Object.assign(record, routed);
    const delayed = record.run_at !== null && record.run_at > now;
    if (!waiting && !delayed) {
      record.status = 'queued';
      record.queued_at = now;
    } else {
      record.next_run_at = delayed ? record.run_at : null;
    }
    // A completed dependency has nothing to release any more: it gets no edge.
    let links: string[] | null = null;
    for (const depId of depIds) {
      if ((await ws.read(depId))!.status === 'completed') continue;
      (links ??= []).push(depId);
      const list = newDependants.get(depId);
      if (list) list.push(id);
      else newDependants.set(depId, [id]);
    }
    ws.record(null, record, actor, waiting ? 'waiting on dependencies' : delayed ? 'delayed until run_at' : 'created', links);
    results[item.index] = { task: record, created: true };
  }
  // Each task the batch depends on gets its count raised once, however many tasks of the batch
  // depend on it.
  for (const [depId, added] of newDependants) addDependants(ws, (await ws.read(depId))!, added.length);
  // Report the final version of the tasks created, with the dependants this batch gave them.
  return results.map((r) => {
    if (!r.created) return r;
    const task = ws.own(r.task.id) ?? r.task;
    const dependants = newDependants.get(task.id);
    return { task: dependants ? { ...task, dependants } : task, created: true };
  });
}
