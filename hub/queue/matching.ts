/**
 * Which agents may run which tasks: the one matching rule, shared by the ready index (leaseNext),
 * a targeted lease (leaseTask) and the scheduler's explanation of why a task waits.
 */

import { isPaidCandidate, ROUTE_CAPABILITY_PREFIX } from '../../shared/routing.js';
import type { Task } from '../../shared/task.js';
import { isPaidExecutor, type OnLimit } from '../../shared/usage.js';

/** What an agent offers: its id, capabilities, and the repos it has (null or absent: any repo). */
export interface AgentFilter {
  agentId: string;
  capabilities: readonly string[];
  repos?: readonly string[] | null;
  /**
   * For a routed task (docs/routing.md): what this agent would run it on (executor, model, the
   * decision with its reasons), merged into the assignment's own change; null when it should not
   * take the task after all (its candidate no longer fits, a budget holds paid work). Absent: no routing.
   */
  decide?: (task: Task) => Partial<Task> | null;
  /**
   * Takes routed tasks whatever their candidate: an agent that is its own model (an MCP worker,
   * docs/mcp.md), or the operator's own lease. The route's other rules (a budget) still apply.
   */
  anyRoute?: boolean;
  /** Repos at their daily budget now (docs/usage.md) and what their tasks do there; absent: none. */
  blocked?: ReadonlyMap<string, OnLimit>;
}

const EXECUTOR = 'executor:';

/**
 * Whether a repo's budget lets this agent start the task (docs/usage.md). A repo at its limit
 * starts nothing on a paid executor: a task that names one waits; one that names a local one
 * (or shell) runs; one that names none would run on the agent's paid executor where it has one
 * (the sidecar prefers Claude, sidecar/task-runner.ts chooseExecutor), so it waits under `wait`
 * and, under `local`, may go to an agent without a paid executor.
 */
export function budgetAllows(agent: AgentFilter, task: { capabilities: readonly string[]; repo: string | null }): boolean {
  if (!agent.blocked || agent.blocked.size === 0 || task.repo === null) return true;
  const mode = agent.blocked.get(task.repo);
  if (mode === undefined) return true;
  // A routed task goes where its current candidate says: paid only at a Claude stage (the router moves it on under `local`).
  const routed = task.capabilities.find((c) => c.startsWith(ROUTE_CAPABILITY_PREFIX));
  if (routed !== undefined) return !isPaidCandidate(routed.slice(ROUTE_CAPABILITY_PREFIX.length));
  const named = task.capabilities.find((c) => c.startsWith(EXECUTOR));
  if (named !== undefined) return !isPaidExecutor(named.slice(EXECUTOR.length));
  return mode === 'local' && !agent.capabilities.some((c) => c.startsWith(EXECUTOR) && isPaidExecutor(c.slice(EXECUTOR.length)));
}

/** Whether an agent may run tasks of this kind: delegation, repo, every required capability, and the repo's budget. */
export function agentMatches(
  agent: AgentFilter,
  task: { capabilities: readonly string[]; repo: string | null; delegate: string | null },
): boolean {
  if (task.delegate !== null && task.delegate !== '' && task.delegate !== agent.agentId) return false;
  if (task.repo !== null && task.repo !== '' && agent.repos && !agent.repos.includes(task.repo)) return false;
  return task.capabilities.every((c) => agent.capabilities.includes(c) || (agent.anyRoute === true && c.startsWith(ROUTE_CAPABILITY_PREFIX))) && budgetAllows(agent, task);
}
