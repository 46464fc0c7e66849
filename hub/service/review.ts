/**
 * Review: a task created with `review: true` waits in `review` after a finished attempt until an
 * operator approves it (completed) or rejects it (retried like a failed attempt, with
 * REVIEW_REJECTED as its last error). The dashboard and ChatOps will decide here as REST does.
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

  async reject(caller: Principal, id: string, reason?: string): Promise<Task> {
    Access.authorize(caller, 'tasks.review');
    return this.store.rejectReview(id, caller.actor, reason ?? 'rejected in review');
  }
}
