/**
 * What a failed attempt does to a task (docs/tasks.md, "Retries and backoff"): retry after a
 * backoff while the error is retryable and attempts remain, else dead-letter (and the
 * dependency cascade). An executor that knows when a retry can succeed (a usage limit's reset,
 * `retry_after`) pushes the retry out to then, within MAX_RETRY_AFTER_MS.
 */
import type { TaskError } from '../../shared/task.js';
import type { Task } from '../../shared/task.js';
import { retryDelayMs, type BackoffOptions } from './backoff.js';
import { transitionFrom, type Changes } from './changes.js';
import { cascade } from './dependencies.js';
import { MODEL_FAILURES, nextStage } from './route.js';

/** The furthest ahead an executor's `retry_after` may push a retry: 24 hours. */
export const MAX_RETRY_AFTER_MS = 24 * 3600_000;

/**
 * When a task that failed `attempt` times is queued again: after the backoff, or at the error's
 * `retry_after` if that is later (bounded by MAX_RETRY_AFTER_MS from now). `random` in [0, 1).
 */
export function retryAt(now: number, attempt: number, random: number, backoff: BackoffOptions, retryAfter?: number): number {
  const afterBackoff = now + retryDelayMs(attempt, random, backoff);
  if (retryAfter === undefined) return afterBackoff;
  return Math.max(afterBackoff, Math.min(retryAfter, now + MAX_RETRY_AFTER_MS));
}

/**
 * An attempt ended badly: retry after backoff, or dead-letter when out of attempts or not
 * retryable. `task` is `before` with the attempt counted.
 */
export async function failAttempt(ws: Changes, task: Task, before: Task, error: TaskError, actor: string): Promise<Task> {
  const retryable = error.retryable !== false;
  const lastError: TaskError = { code: error.code, message: error.message, retryable };
  if (error.details !== undefined) lastError.details = error.details;
  if (error.retry_after !== undefined) lastError.retry_after = error.retry_after;
  if (retryable && task.attempts < task.max_attempts) {
    // A routed task that failed for a model reason tries its next candidate, at once (docs/routing.md).
    const moved = task.route && MODEL_FAILURES.has(error.code) ? nextStage(task, `${error.code} on ${task.route.chain[task.route.stage]}`, ws.now) : null;
    if (moved) {
      return transitionFrom(ws, before, { ...task, ...moved }, 'failed', { last_error: lastError, next_run_at: ws.now }, actor, `${error.code}: moving on to ${moved.route!.chain[moved.route!.stage]}`);
    }
    const at = retryAt(ws.now, task.attempts, ws.policy.random(), ws.policy.backoff, error.retry_after);
    return transitionFrom(ws, before, task, 'failed', { last_error: lastError, next_run_at: at }, actor, `${error.code}: retry in ${at - ws.now} ms`);
  }
  const why = retryable ? `out of attempts (${task.attempts}/${task.max_attempts})` : 'not retryable';
  const after = transitionFrom(ws, before, task, 'dead_letter', { last_error: lastError }, actor, `${error.code}: ${why}`);
  await cascade(ws, after, 'dead_letter', actor);
  return after;
}
