/**
 * What a failed attempt does to a task (docs/tasks.md, "Retries and backoff"): retry after a
 * backoff while the error is retryable and attempts remain, else dead-letter (and the
 * dependency cascade).
 */
import type { TaskError } from '../../shared/task.js';
import type { Task } from '../../shared/task.js';
import { retryDelayMs } from './backoff.js';
import { transitionFrom, type Changes } from './changes.js';
import { cascade } from './dependencies.js';

/**
 * An attempt ended badly: retry after backoff, or dead-letter when out of attempts or not
 * retryable. `task` is `before` with the attempt counted.
 */
export async function failAttempt(ws: Changes, task: Task, before: Task, error: TaskError, actor: string): Promise<Task> {
  const retryable = error.retryable !== false;
  const lastError: TaskError = { code: error.code, message: error.message, retryable };
  if (error.details !== undefined) lastError.details = error.details;
  if (retryable && task.attempts < task.max_attempts) {
    const delay = retryDelayMs(task.attempts, ws.policy.random(), ws.policy.backoff);
    return transitionFrom(ws, before, task, 'failed', { last_error: lastError, next_run_at: ws.now + delay }, actor, `${error.code}: retry in ${delay} ms`);
  }
  const why = retryable ? `out of attempts (${task.attempts}/${task.max_attempts})` : 'not retryable';
  const after = transitionFrom(ws, before, task, 'dead_letter', { last_error: lastError }, actor, `${error.code}: ${why}`);
  await cascade(ws, after, 'dead_letter', actor);
  return after;
}
