/**
 * Which agents may run which tasks: the one matching rule, shared by the ready index (leaseNext),
 * a targeted lease (leaseTask) and the scheduler's explanation of why a task waits.
 */

import type { Task } from '../../shared/task.js';

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
}

/** Whether an agent may run tasks of this kind: delegation, repo, and every required capability. */
export function agentMatches(
  agent: AgentFilter,
  task: { capabilities: readonly string[]; repo: string | null; delegate: string | null },
): boolean {
  if (task.delegate !== null && task.delegate !== '' && task.delegate !== agent.agentId) return false;
  if (task.repo !== null && task.repo !== '' && agent.repos && !agent.repos.includes(task.repo)) return false;
  return task.capabilities.every((c) => agent.capabilities.includes(c));
}
