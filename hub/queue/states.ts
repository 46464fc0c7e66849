/**
 * The task state machine: the one table of legal transitions. Every state change in the store
 * goes through `assertTransition`, so a transition that is not listed here cannot happen.
 * docs/tasks.md draws this table as a diagram and says which operation makes each transition.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { TaskStatus } from '../../shared/task.js';

export const TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  // Waiting on dependencies or run_at.
  pending: ['queued', 'cancelled', 'dead_letter'],
  // Ready to be leased.
  queued: ['assigned', 'cancelled'],
  // Offered to an agent that has not accepted yet: accept, reject / accept timeout, or give up.
  assigned: ['running', 'queued', 'failed', 'dead_letter', 'cancelled'],
  // An agent works on it under a lease; `blocked` when it asks a question (docs/workflow.md).
  running: ['completed', 'review', 'failed', 'queued', 'dead_letter', 'cancelled', 'blocked'],
  // The agent asked a question: no lease; an answer or a force-unblock queues it again.
  blocked: ['queued', 'cancelled'],
  // A finished attempt waits for an operator: approve (completed; an approved plan is queued for
  // its implementation), or reject with feedback (queued again, or dead_letter when the circuit
  // breaker opens).
  review: ['completed', 'queued', 'dead_letter', 'cancelled'],
  // A retry is scheduled after backoff.
  failed: ['queued', 'cancelled'],
  // Out of attempts, or its dependency failed; an operator may retry it.
  dead_letter: ['queued', 'pending', 'cancelled'],
  // Final for every operation but one: a guardian's REJECT reopens the implementation it guards
  // (queued with the findings as feedback, or dead_letter when the circuit breaker opens).
  completed: ['queued', 'dead_letter'],
  cancelled: [],
};

/** No operator action and no agent moves a task out of these (a guardian's reopen is the one exception, above). */
export const FINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['completed', 'cancelled']);

/** States in which an agent holds a lease on the task. */
export const LEASED_STATUSES: ReadonlySet<TaskStatus> = new Set(['assigned', 'running']);

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(taskId: string, from: TaskStatus, to: TaskStatus): void {
  if (!canTransition(from, to)) {
    throw new SwitchyardError('ILLEGAL_TRANSITION', `task ${taskId} cannot go from ${from} to ${to}`, {
      task_id: taskId,
      from,
      to,
    });
  }
}
