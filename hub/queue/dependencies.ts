/**
 * The dependency policy (docs/tasks.md, "Dependencies"), as rules over `Changes`:
 *  - a dependant waits in `pending` until every dependency is `completed` (and its run_at came);
 *  - when a task dead-letters, its waiting dependants dead-letter too (DEPENDENCY_FAILED naming
 *    it), transitively; when it is cancelled, its waiting or blocked dependants are cancelled;
 *  - retrying a dead-lettered task revives the dependants it blocked, unless another failed
 *    dependency still blocks them (they then name that one).
 * A new task's own dependencies are checked here too (create.ts).
 */
import { SwitchyardError } from '../../shared/errors.js';
import { LIMITS, type Task, type TaskSpec } from '../../shared/task.js';
import { edit, transition, type Changes } from './changes.js';

/** Whether every dependency of `task` is completed. */
export async function depsCompleted(ws: Changes, task: Task): Promise<boolean> {
  for (const depId of task.depends_on) {
    const dep = await ws.read(depId);
    // A dependency that is gone was removed by retention, which removes only a task that no live
    // dependant waits on through an edge; one without an edge was completed when this task was
    // created (create.ts gives a completed dependency no edge). Either way: completed.
    if (!dep) continue;
    if (dep.status !== 'completed') return false;
  }
  return true;
}

/** The first dependency that is dead-lettered or cancelled, if any. */
export async function failedDependency(ws: Changes, task: Task): Promise<Task | undefined> {
  for (const depId of task.depends_on) {
    const dep = await ws.read(depId);
    if (dep && (dep.status === 'dead_letter' || dep.status === 'cancelled')) return dep;
  }
  return undefined;
}

/** A dependency completed: queue each dependant whose other dependencies are done and which is due. */
export async function releaseDependants(ws: Changes, task: Task, actor: string): Promise<void> {
  for (const id of await ws.dependantsOf(task)) {
    const dependant = await ws.read(id);
    if (!dependant || dependant.status !== 'pending') continue;
    if (!(await depsCompleted(ws, dependant))) continue;
    if (dependant.run_at !== null && dependant.run_at > ws.now) {
      // Not due yet: the sweeper queues it when run_at comes.
      if (dependant.next_run_at !== dependant.run_at) edit(ws, dependant, { next_run_at: dependant.run_at, updated_at: ws.now });
      continue;
    }
    transition(ws, dependant, 'queued', {}, actor, `dependencies completed`);
  }
}

/**
 * When a task dead-letters, its waiting dependants (transitively) are dead-lettered with
 * DEPENDENCY_FAILED, so an operator sees them and can retry; when a task is cancelled, its
 * waiting dependants, and those it had dead-lettered, are cancelled.
 */
export async function cascade(ws: Changes, root: Task, to: 'dead_letter' | 'cancelled', actor: string): Promise<void> {
  const work = [root];
  while (work.length > 0) {
    const parent = work.pop()!;
    for (const id of await ws.dependantsOf(parent)) {
      const dependant = await ws.read(id);
      if (!dependant) continue;
      const blocked = dependant.status === 'dead_letter' && dependant.last_error?.code === 'DEPENDENCY_FAILED';
      if (dependant.status !== 'pending' && !(to === 'cancelled' && blocked)) continue;
      const reason = `dependency ${parent.id} is ${to}`;
      const patch: Partial<Task> =
        to === 'dead_letter'
          ? { last_error: { code: 'DEPENDENCY_FAILED', message: reason, retryable: true, details: { dependency: parent.id } } }
          : {};
      work.push(transition(ws, dependant, to, patch, actor, reason));
    }
  }
}

/** dead_letter -> queued (or pending while dependencies are not done); revives blocked dependants. */
export async function revive(ws: Changes, task: Task, actor: string, reason: string, resetAttempts: boolean): Promise<Task> {
  const ready = await depsCompleted(ws, task);
  const delayed = task.run_at !== null && task.run_at > ws.now;
  const patch: Partial<Task> = resetAttempts ? { attempts: 0 } : {};
  const after =
    ready && !delayed
      ? transition(ws, task, 'queued', patch, actor, reason)
      : transition(ws, task, 'pending', { ...patch, next_run_at: delayed ? task.run_at : null }, actor, reason);
  for (const id of await ws.dependantsOf(task)) {
    const dependant = await ws.read(id);
    if (dependant?.status === 'dead_letter' && dependant.last_error?.code === 'DEPENDENCY_FAILED') {
      const depTask = dependant.last_error.details as { dependency?: string } | undefined;
      if (depTask?.dependency !== task.id) continue;
      // Still blocked by another failed dependency: stay dead-lettered, now naming that one, so
      // that retrying it revives this task.
      const other = await failedDependency(ws, dependant);
      if (other) {
        const why = `dependency ${other.id} is ${other.status}`;
        const lastError = { code: 'DEPENDENCY_FAILED', message: why, retryable: true, details: { dependency: other.id } };
        edit(ws, dependant, { last_error: lastError, updated_at: ws.now });
        continue;
      }
      await revive(ws, dependant, actor, `dependency ${task.id} retried`, false);
    }
  }
  return after;
}

/** A new task may depend on any existing task that has not failed or been cancelled. */
export function checkNewDependency(spec: TaskSpec, depId: string, dep: Task | undefined): asserts dep is Task {
  if (!dep) {
    throw new SwitchyardError('UNKNOWN_DEPENDENCY', `task '${spec.title}' depends on ${depId}, which does not exist`, { dependency: depId });
  }
  if (dep.status === 'cancelled' || dep.status === 'dead_letter') {
    throw new SwitchyardError('DEPENDENCY_FAILED', `task '${spec.title}' depends on ${depId}, which is ${dep.status}; retry it first`, {
      dependency: depId,
      status: dep.status,
    });
  }
}

/** Raises a task's count of dependants by `added`, within LIMITS.dependants. */
export function addDependants(ws: Changes, task: Task, added: number): Task {
  const count = (task.dependant_count ?? 0) + added;
  if (count > LIMITS.dependants) {
    throw new SwitchyardError(
      'LIMIT_EXCEEDED',
      `task ${task.id} would have ${count} dependants, more than the limit of ${LIMITS.dependants}; chain the work through intermediate tasks`,
      { task_id: task.id, dependants: count, limit: LIMITS.dependants },
    );
  }
  // Not a transition, and not a change of the task itself: its updated_at stays.
  return edit(ws, task, { dependant_count: count });
}
