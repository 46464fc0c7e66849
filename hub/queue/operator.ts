/** Operator actions: cancel, retry, and the review's approve or reject. */
import { SwitchyardError } from '../../shared/errors.js';
import type { Task } from '../../shared/task.js';
import { illegal, transition, type Changes } from './changes.js';
import { cascade, failedDependency, releaseDependants, revive } from './dependencies.js';
import { failAttempt } from './retry-policy.js';
import { assertTransition, FINAL_STATUSES } from './states.js';
import * as workflow from '../workflow/rules.js';

/** From any state that is not final; the task's waiting dependants are cancelled too. */
export async function cancel(ws: Changes, task: Task, actor: string, reason: string): Promise<Task> {
  if (FINAL_STATUSES.has(task.status)) assertTransition(task.id, task.status, 'cancelled');
  const after = transition(ws, task, 'cancelled', {}, actor, reason);
  await cascade(ws, after, 'cancelled', actor);
  return after;
}

/** Manual retry from dead_letter (attempts reset), or an early retry of a failed task. */
export async function retry(ws: Changes, task: Task, actor: string): Promise<Task> {
  if (task.status === 'failed') return transition(ws, task, 'queued', {}, actor, 'retried early by operator');
  // The table allows assigned/running -> queued for leases; an operator retries only what has stopped.
  if (task.status !== 'dead_letter') throw illegal(task, 'queued', 'only a dead-lettered or failed task can be retried');
  const failedDep = await failedDependency(ws, task);
  if (failedDep) {
    throw new SwitchyardError('DEPENDENCY_FAILED', `task ${task.id} depends on ${failedDep.id}, which is ${failedDep.status}; retry it first`, {
      dependency: failedDep.id,
      status: failedDep.status,
    });
  }
  // An operator's retry closes an open circuit breaker: its counters start again.
  const closed = task.breaker ? { ...task, breaker: { rejections: 0, expiries: 0, opened_at: null } } : task;
  return revive(ws, closed, actor, 'retried by operator', true);
}

/** Work completed (dependants start, its guardian chain begins), or an approved plan queued for its implementation. */
export async function approve(ws: Changes, task: Task, actor: string): Promise<Task> {
  return workflow.approve(actor)(ws, task);
}

/**
 * A rejected review reopens the task with the reason as feedback (docs/workflow.md), counted by
 * the circuit breaker.
 */
export async function rejectReview(ws: Changes, task: Task, actor: string, reason: string): Promise<Task> {
  return workflow.reject(actor, reason)(ws, task);
}
