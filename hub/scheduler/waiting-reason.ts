/**
 * Why a queued task is still waiting, in words an operator can act on: no agent connected, or
 * for each connected agent what it lacks — most usefully an executor or model it has but cannot
 * use now, with the sidecar's own reason ("claude unavailable: not logged in"). Computed when a
 * task is read (GET /v1/tasks/:id), never on the dispatch path. A paused repo comes first: "repo X is paused". Matching is the store's own
 * (`agentMatches`), so this says exactly what keeps the scheduler from placing the task.
 */
import type { Task } from '../../shared/task.js';
import type { AgentRegistry, LiveAgent } from '../agents/registry.js';
import { ROUTE_CAPABILITY_PREFIX } from '../../shared/routing.js';
import type { OnLimit } from '../../shared/usage.js';
import { agentMatches } from '../queue/matching.js';

/** At most this many agents are named; the rest are counted. */
const MAX_NAMED = 8;

/** Only what matching needs: a whole task, or the ready index's head of a kind (hub/alerts/snapshot.ts). */
export type Waiting = Pick<Task, 'status' | 'capabilities' | 'repo' | 'delegate'> & Partial<Pick<Task, 'route'>>;

/**
 * `holdOf`: why a repo's tasks are held (paused, docs/repos.md); `blocked`: the repos at their
 * daily budget now (docs/usage.md), as matching sees them.
 */
export function waitingReason(task: Waiting, registry: AgentRegistry, holdOf: (repo: string) => string | null = () => null, blocked?: ReadonlyMap<string, OnLimit>): string | null {
  if (task.status !== 'queued') return null;
  // A paused repo's tasks wait whatever the agents can do (docs/repos.md).
  const held = task.repo ? holdOf(task.repo) : null;
  if (held !== null) return held;
  const connected = registry.all().filter((a) => a.conn !== null);
  if (connected.length === 0) return 'no agent is connected';
  // A budget that keeps the task's paid candidate waiting (docs/routing.md).
  const budgetHold = task.route ? registry.routeWords?.hold(task) : null;
  if (budgetHold) return budgetHold;
  const able = connected.filter((a) => agentMatches({ agentId: a.id, capabilities: a.offered.list, repos: a.repos, ...(blocked ? { blocked } : {}) }, task));
  const mode = task.repo !== null ? blocked?.get(task.repo) : undefined;
  if (able.length === 0 && mode !== undefined && connected.some((a) => agentMatches({ agentId: a.id, capabilities: a.offered.list, repos: a.repos }, task))) {
    return mode === 'wait'
      ? `the daily budget of repo ${task.repo} is exhausted: it waits for a paid executor until the next UTC day`
      : `the daily budget of repo ${task.repo} is exhausted: it waits for an agent without a paid executor (or names ollama or shell), or the next UTC day`;
  }
  if (able.length > 0) {
    const stage = task.route ? ` for ${task.route.chain[task.route.stage]} (stage ${task.route.stage + 1} of ${task.route.chain.length})` : '';
    const names = able.slice(0, MAX_NAMED).map((a) => a.id).join(', ');
    return able.some((a) => registry.freeSlots(a) > 0) ? null : `waiting for a free slot on ${names}${stage}`;
  }
  const why = connected.map((a) => `${a.id}: ${lacks(a, task, registry)}`);
  const shown = why.slice(0, MAX_NAMED).join('; ');
  return `no connected agent can run it now (${shown}${why.length > MAX_NAMED ? `; and ${why.length - MAX_NAMED} more` : ''})`;
}

/** What one agent lacks for the task, first thing first. */
function lacks(agent: LiveAgent, task: Waiting, registry: AgentRegistry): string {
  if (task.delegate && task.delegate !== agent.id) return `the task is reserved for ${task.delegate}`;
  if (task.repo && agent.repos && !agent.repos.includes(task.repo)) return `no repo ${task.repo}`;
  const missing = task.capabilities.filter((c) => !agent.offered.set.has(c));
  return missing.map((c) => lacksCapability(agent, c, registry)).join(', ');
}

function lacksCapability(agent: LiveAgent, capability: string, registry: AgentRegistry): string {
  if (capability.startsWith(ROUTE_CAPABILITY_PREFIX)) {
    const candidate = capability.slice(ROUTE_CAPABILITY_PREFIX.length);
    return registry.routeWords?.why(agent, candidate) ?? `routing is off, so nothing offers ${candidate}`;
  }
  if (capability.startsWith('executor:')) {
    const name = capability.slice('executor:'.length);
    const advert = agent.executors.find((e) => e.name === name);
    if (!advert) return `no ${name} executor`;
    return `${name} unavailable${advert.reason ? `: ${advert.reason}` : ''}`;
  }
  if (capability.startsWith('model:')) {
    const model = capability.slice('model:'.length);
    for (const e of agent.executors) {
      const fault = e.model_faults?.find((m) => m.name === model);
      if (fault) return `model ${model} unavailable on ${e.name}: ${fault.reason}`;
    }
    return `no model ${model}`;
  }
  return `no capability ${capability}`;
}
