/**
 * Which of the agents that can run a task gets it (docs/workflow.md, "Which agent gets a task"):
 * the least loaded (active tasks over its slots); among equally loaded ones, the operator's
 * priority, higher first (`switchyard agent set ID --priority N`); then the one that completed
 * fewer tasks today, so equal agents share the day's work. It is the same rule for a task's first
 * placement and for a delegated task's fallback when its named agent did not take it. Pure.
 */
export interface AgentRank {
  load: number;
  priority: number;
  completedToday: number;
}

export function rankOf(agent: { leases: { size: number }; reserved: number; maxConcurrency: number }, priority: number, completedToday: number): AgentRank {
  return { load: (agent.leases.size + agent.reserved) / agent.maxConcurrency, priority, completedToday };
}

/** True when `a` should get the task before `b`. */
export function better(a: AgentRank, b: AgentRank): boolean {
  if (a.load !== b.load) return a.load < b.load;
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.completedToday < b.completedToday;
}
