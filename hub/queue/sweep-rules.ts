/**
 * What the sweeper does to a task whose time came (docs/tasks.md, "Leases and generations",
 * "Delayed tasks"): an expired lease, and a due backoff or run_at. Finding those tasks (heaps,
 * timers) is the store's part.
 */
import type { Task } from '../../shared/task.js';
import { edit, transition, type Changes } from './changes.js';
import { cascade, depsCompleted } from './dependencies.js';
import { expiryCounted } from '../workflow/breaker.js';

const SWEEPER = 'sweeper';

/**
 * An expired lease (`task.lease.expires_at <= now`). An offer goes back to the queue, and ends the
 * delegation of the agent that let it time out; a running attempt is requeued with LEASE_EXPIRED
 * (TASK_TIMEOUT when it reached its overall deadline), or dead-lettered when out of attempts.
 */
export async function expireLease(ws: Changes, task: Task): Promise<void> {
  const lease = task.lease!;
  if (task.status === 'assigned') {
    const delegate = task.delegate === lease.agent_id ? null : task.delegate;
    transition(ws, task, 'queued', { delegate }, SWEEPER, `not accepted by ${lease.agent_id} in time`);
    return;
  }
  // Renewals stop at the overall deadline, so a lease that reached it means the attempt ran too long;
  // judged by the lease, not by when the sweeper happened to run.
  const overall = lease.started_at !== undefined && lease.expires_at >= lease.started_at + task.timeouts.overall_ms;
  const code = overall ? 'TASK_TIMEOUT' : 'LEASE_EXPIRED';
  const message = overall ? `attempt ran longer than ${task.timeouts.overall_ms} ms` : `lease of ${lease.agent_id} expired without renewal`;
  // The circuit breaker counts expiries in a row (an agent that keeps crashing on the task), before
  // the attempts: its stop is for good, and it raises an escalation (docs/workflow.md).
  const lastError = { code, message, retryable: true };
  const { opened, breaker } = await expiryCounted(ws, task, lastError);
  if (opened) return;
  if (task.attempts < task.max_attempts) {
    transition(ws, task, 'queued', { last_error: lastError, breaker }, SWEEPER, `${code}: requeued`);
  } else {
    const after = transition(ws, task, 'dead_letter', { last_error: lastError, breaker }, SWEEPER, `${code}: out of attempts`);
    await cascade(ws, after, 'dead_letter', SWEEPER);
  }
}

/**
 * A task whose `next_run_at` came: a failed task's backoff elapsed (-> queued), or a delayed
 * task's run_at (-> queued if its dependencies are done, else it waits for them with no due time).
 */
export async function dueTask(ws: Changes, task: Task): Promise<void> {
  if (task.status === 'failed') {
    transition(ws, task, 'queued', {}, SWEEPER, 'backoff elapsed');
  } else if (task.status === 'pending') {
    if (await depsCompleted(ws, task)) transition(ws, task, 'queued', {}, SWEEPER, 'run_at reached');
    else edit(ws, task, { next_run_at: null, updated_at: ws.now });
  }
}
