/**
 * Review: a task created with `review: true` (or a plan) waits in `review` after a finished
 * attempt until an operator approves it (completed; a plan is queued for its implementation) or
 * rejects it (reopened with the reason as feedback, counted by the circuit breaker). The richer
 * actions (feedback with findings, questions, the gate's override) are WorkflowService's.
 */
import type { Task } from '../../shared/task.js';
import type { TaskStore } from '../store/task-store.js';
import { Access, type Principal } from './access.js';

export class ReviewService {
  constructor(private readonly store: TaskStore) {}

  async approve(caller: Principal, id: string): Promise<Task> {
    Access.authorize(caller, 'tasks.review');
    return this.store.approve(id, caller.actor);
  }

  /** Reopens the task with the reason as its feedback (WorkflowService.reject: the breaker counts it). */
  async reject(caller: Principal, id: string, reason?: string): Promise<Task> {
    Access.authorize(caller, 'tasks.review');
    return this.store.rejectReview(id, caller.actor, reason ?? 'rejected in review');
  }
}
