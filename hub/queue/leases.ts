/**
 * Lease rules (docs/tasks.md, "Leases and generations"): assignment, the generation fence, accept,
 * renewal, completion, failure and release, and the end of a delegation. Each is a decision over
 * records the caller read; the store applies what it recorded in `Changes`.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Task, TaskError } from '../../shared/task.js';
import { chargeRun, executorOfResult, modelKey, resultOfFailure, runUsageOf } from '../../shared/usage.js';
import { edit, transition, type Changes } from './changes.js';
import { agentMatches, type AgentFilter } from './matching.js';
import { failAttempt } from './retry-policy.js';
import { completeAttempt } from '../workflow/complete.js';

/** The fence: the caller must name the current lease's generation and be its holder. */
export function checkLease(task: Task, generation: number, agentId: string): void {
  if (!task.lease || task.lease.generation !== generation || task.generation !== generation) {
    throw new SwitchyardError(
      'STALE_GENERATION',
      `task ${task.id}: generation ${generation} no longer holds a lease (current generation ${task.generation}, status ${task.status})`,
      { task_id: task.id, generation: task.generation, status: task.status },
    );
  }
  if (task.lease.agent_id !== agentId) {
    throw new SwitchyardError('NOT_LEASE_HOLDER', `task ${task.id} is leased to another agent`, { task_id: task.id });
  }
}

/**
 * queued -> assigned: a new generation, and an offer that expires after timeouts.start_ms. A
 * routing decision (`routed`: executor, model, route) is part of the same change.
 */
export function assign(ws: Changes, task: Task, agentId: string, routed?: Partial<Task> | null): Task {
  const generation = task.generation + 1;
  return transition(
    ws,
    task,
    'assigned',
    { ...routed, generation, lease: { agent_id: agentId, generation, expires_at: ws.now + task.timeouts.start_ms } },
    `agent:${agentId}`,
    `assigned to ${agentId}`,
  );
}

/** A lease of one named task: only while it is queued, and only to an agent that may run it. */
export function leaseQueued(ws: Changes, task: Task | undefined, agent: AgentFilter): Task | null {
  if (!task || task.status !== 'queued') return null;
  // The same rule as leaseNext: a targeted lease must not bypass delegation, repos or capabilities.
  if (!agentMatches(agent, task)) return null;
  const routed = routingOf(agent, task);
  if (routed === null) return null;
  return assign(ws, task, agent.agentId, routed);
}

/** The agent's routing decision for a routed task: undefined when there is nothing to decide, null when it must not take it. */
export function routingOf(agent: AgentFilter, task: Task): Partial<Task> | null | undefined {
  if (!task.route) return undefined;
  if (agent.decide) return agent.decide(task);
  // Taken by an agent that is its own model (an MCP worker): no decision of the router's stands, not even an earlier lease's.
  if (agent.anyRoute) return { executor: null, model: null, route: { ...task.route, decision: null } };
  return undefined;
}

/** Ends a queued task's delegation, so any agent that can run it may lease it. */
export function undelegate(ws: Changes, task: Task): Task {
  if (task.status !== 'queued' || task.delegate === null) return task;
  return edit(ws, task, { delegate: null, updated_at: ws.now });
}

export function accept(ws: Changes, task: Task, generation: number, agentId: string): Task {
  checkLease(task, generation, agentId);
  if (task.status === 'running') return task; // a repeated accept after a reconnect
  const now = ws.now;
  return transition(
    ws,
    task,
    'running',
    {
      attempts: task.attempts + 1,
      // Like renew: the lease never runs past the attempt's overall deadline.
      lease: { ...task.lease!, expires_at: now + Math.min(task.timeouts.lease_ms, task.timeouts.overall_ms), started_at: now },
    },
    `agent:${agentId}`,
    `accepted, attempt ${task.attempts + 1}`,
  );
}

/** Moves the lease's expiry forward (never back, never past the attempt's overall deadline). */
export function renew(ws: Changes, task: Task, generation: number, agentId: string): Task {
  checkLease(task, generation, agentId);
  const lease = task.lease!;
  const now = ws.now;
  let expires: number;
  if (task.status === 'running') {
    const deadline = (lease.started_at ?? now) + task.timeouts.overall_ms;
    expires = Math.min(now + task.timeouts.lease_ms, deadline);
  } else {
    expires = now + task.timeouts.start_ms;
  }
  if (expires <= lease.expires_at) return task;
  return edit(ws, task, { lease: { ...lease, expires_at: expires }, updated_at: now });
}

/**
 * running -> completed (its dependants may start, its guardian chain begins), or -> review for a
 * task that asks for one or a plan; a guardian's verdict decides its own way (workflow/complete.ts).
 */
export function complete(ws: Changes, task: Task, generation: number, agentId: string, result: unknown): Promise<Task> {
  checkLease(task, generation, agentId);
  return completeAttempt(ws, task, `agent:${agentId}`, result, charged(task, result));
}

export function fail(ws: Changes, task: Task, generation: number, agentId: string, error: TaskError): Promise<Task> {
  checkLease(task, generation, agentId);
  // A failure before the attempt started still counts, so a task that cannot start ends.
  const attempts = task.status === 'assigned' ? task.attempts + 1 : task.attempts;
  // The agent reported: the circuit breaker's run of lease expiries ends (docs/workflow.md).
  const breaker = task.breaker && task.breaker.expiries > 0 ? { breaker: { ...task.breaker, expiries: 0 } } : {};
  return failAttempt(ws, { ...task, attempts, ...breaker, ...charged(task, resultOfFailure(error.details)) }, task, error, `agent:${agentId}`);
}

/**
 * The task's usage with the run a result reports added (docs/usage.md), as a patch; none when it
 * reports none. Part of the same change as the complete or fail, so the store writes the record
 * and the day's usage cells (apply.ts) in one batch, and a stale result (refused above) charges
 * nothing.
 */
export function charged(task: Task, result: unknown): Pick<Task, 'usage'> | Record<string, never> {
  const run = runUsageOf(result);
  if (!run) return {};
  const executor = executorOfResult(result) ?? task.executor ?? 'unknown';
  return { usage: chargeRun(task.usage, run, modelKey(executor, task.model)) };
}

/**
 * Gives a lease back: queued again at once, no attempt added. The releasing agent's delegation
 * ends. A host fault is not the task's failure: the attempt the accept counted is given back.
 */
export function release(ws: Changes, task: Task, generation: number, agentId: string, reason: string, hostFault?: TaskError): Task {
  checkLease(task, generation, agentId);
  const delegate = task.delegate === agentId ? null : task.delegate;
  const patch: Partial<Task> = { delegate };
  if (hostFault) {
    if (task.status === 'running') patch.attempts = Math.max(0, task.attempts - 1);
    patch.last_error = hostFault;
  }
  return transition(ws, task, 'queued', patch, `agent:${agentId}`, `released: ${reason}`);
}
