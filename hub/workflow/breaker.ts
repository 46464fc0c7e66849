/**
 * The circuit breaker (docs/workflow.md, "Circuit breaker"): a task rejected N times (reviews,
 * refused plans, guardians' REJECTs), or whose lease expired N times in a row (an agent that
 * keeps crashing on it), stops for good: `dead_letter` with CIRCUIT_OPEN, not retryable, and its
 * waiting dependants dead-letter with it. N is the store's `taskDefaults.breakerMax` (hub config
 * `breakerMax`, default 3). The escalation and the critical alert follow from the change
 * (hub/workflow/escalations.ts, the `circuit_open` alert rule).
 */
import type { Task } from '../../shared/task.js';
import { WORKFLOW_LIMITS, type Breaker, type Feedback } from '../../shared/workflow.js';
import { transition, transitionFrom, type Changes } from '../queue/changes.js';
import { cascade } from '../queue/dependencies.js';

export const DEFAULT_BREAKER_MAX = 3;

export function breakerMax(ws: Changes): number {
  return ws.policy.taskDefaults.breakerMax ?? DEFAULT_BREAKER_MAX;
}

export function breakerOf(task: Task): Breaker {
  return task.breaker ?? { rejections: 0, expiries: 0, opened_at: null };
}

/** The newest `WORKFLOW_LIMITS.history` entries of a list with one more. */
export function appendBounded<T>(list: readonly T[] | undefined, item: T): T[] {
  const all = [...(list ?? []), item];
  return all.length > WORKFLOW_LIMITS.history ? all.slice(all.length - WORKFLOW_LIMITS.history) : all;
}

/**
 * Rejected with feedback: queued again with the feedback on the record (the next prompt quotes
 * it), one more rejection counted; at N the breaker opens instead.
 */
export async function reopen(ws: Changes, task: Task, feedback: Feedback, actor: string): Promise<Task> {
  const counted = breakerOf(task);
  const breaker: Breaker = { ...counted, rejections: counted.rejections + 1 };
  const patch: Partial<Task> = { feedback: appendBounded(task.feedback, feedback), breaker, evidence: null };
  const max = breakerMax(ws);
  if (breaker.rejections >= max) {
    return open(ws, task, patch, actor, `rejected ${breaker.rejections} times (the breaker opens at ${max})`);
  }
  if (task.attempts >= task.max_attempts) {
    // Out of attempts before the breaker opened (a task with fewer attempts than N): it ends as a
    // failed attempt would, and an operator's retry may give it more.
    const lastError = { code: 'REVIEW_REJECTED', message: feedback.text, retryable: true };
    const after = transitionFrom(ws, task, task, 'dead_letter', { ...patch, last_error: lastError }, actor, `REVIEW_REJECTED: out of attempts (${task.attempts}/${task.max_attempts})`);
    await cascade(ws, after, 'dead_letter', actor);
    return after;
  }
  return transition(ws, task, 'queued', patch, actor, `reopened: ${feedback.kind} rejection ${breaker.rejections}/${max}`);
}

/**
 * A running attempt's lease expired: one more in a row. Returns the task after the breaker
 * opened, or null while it stays closed (the sweeper then requeues as before, with `counted`).
 */
export async function expiryCounted(ws: Changes, task: Task, lastError: Task['last_error']): Promise<{ opened: Task | null; breaker: Breaker }> {
  const counted = breakerOf(task);
  const breaker: Breaker = { ...counted, expiries: counted.expiries + 1 };
  const max = breakerMax(ws);
  if (breaker.expiries < max) return { opened: null, breaker };
  const opened = await open(ws, task, { breaker }, 'sweeper', `lease expired ${breaker.expiries} times in a row (the breaker opens at ${max})`, lastError);
  return { opened, breaker };
}

async function open(ws: Changes, task: Task, patch: Partial<Task>, actor: string, why: string, previous?: Task['last_error']): Promise<Task> {
  const breaker = { ...(patch.breaker ?? breakerOf(task)), opened_at: ws.now };
  const lastError = {
    code: 'CIRCUIT_OPEN',
    message: `circuit breaker open: ${why}; fix the cause, then retry the task (its counters start again) or cancel it`,
    retryable: false,
    details: { rejections: breaker.rejections, expiries: breaker.expiries, ...(previous ? { previous } : {}) },
  };
  const after = transitionFrom(ws, task, task, 'dead_letter', { ...patch, breaker, last_error: lastError }, actor, `CIRCUIT_OPEN: ${why}`);
  await cascade(ws, after, 'dead_letter', actor);
  return after;
}
