/**
 * A task's route (docs/routing.md) as queue rules: the route a new task gets, a move along its
 * chain (the capability it requires changes with it), and which failures are the model's, so
 * the next candidate should try rather than the same one again. Pure: records in, patches out.
 */
import type { Complexity } from '../../shared/complexity.js';
import { ROUTE_CAPABILITY_PREFIX, ROUTE_MOVES_MAX, routeCapability, type RoutingPolicy, type TaskRoute } from '../../shared/routing.js';
import type { Task } from '../../shared/task.js';
import { chainOf } from '../routing/policy.js';

/**
 * Failures that say the model was not up to the task, or cannot take it now: the task moves to
 * the next candidate at once (no backoff) rather than trying the same one again.
 */
export const MODEL_FAILURES: ReadonlySet<string> = new Set([
  'VERIFICATION_FAILED',
  'EXEC_TURN_LIMIT',
  'EXEC_EMPTY_OUTPUT',
  'EXEC_ERROR_RESULT',
  'EXEC_USAGE_LIMIT',
]);

/** Routing decides for a task that names no executor, model or command (a coding task). */
export function isRoutable(task: Pick<Task, 'executor' | 'model' | 'command'>): boolean {
  return task.executor === null && task.model === null && task.command === null;
}

/** The route of a new task, and the capability its first stage requires; null when routing is off or it names its own way. */
export function initialRoute(task: Task, policy: RoutingPolicy | null, now: number): Pick<Task, 'route' | 'capabilities'> | null {
  if (!policy || policy.enabled === false || !isRoutable(task)) return null;
  const tier: Complexity = task.complexity;
  const { chain, waits } = chainOf(policy, tier);
  const route: TaskRoute = { tier, chain, stage: 0, stage_since: now, waits, decision: null, moves: [] };
  return { route, capabilities: withRouteCapability(task.capabilities, chain[0]!) };
}

/** The task's capabilities with its route capability set to the candidate's (one at a time, sorted as the record keeps them). */
export function withRouteCapability(capabilities: readonly string[], candidate: string): string[] {
  const caps = capabilities.filter((c) => !c.startsWith(ROUTE_CAPABILITY_PREFIX));
  caps.push(routeCapability(candidate));
  return caps.sort();
}

/** Whether the route has a stage after the current one. */
export function hasNextStage(route: TaskRoute): boolean {
  return route.stage + 1 < route.chain.length;
}

/** The patch that moves a task to its next stage, recording why; null at the end of its chain. */
export function nextStage(task: Task, reason: string, now: number): Pick<Task, 'route' | 'capabilities'> | null {
  const route = task.route;
  if (!route || !hasNextStage(route)) return null;
  const to = route.stage + 1;
  const candidate = route.chain[to]!;
  const moves = [...route.moves, { at: now, from: route.stage, to, candidate, reason }].slice(-ROUTE_MOVES_MAX);
  return {
    route: { ...route, stage: to, stage_since: now, moves },
    capabilities: withRouteCapability(task.capabilities, candidate),
  };
}

/**
 * When the task's current stage has waited long enough to move on (ms since epoch): counted from
 * when it reached the stage or last became queued, whichever is later (a task that waited on its
 * dependencies, or ran and came back, has not been waiting for an agent all that time).
 */
export function stageDeadline(task: Pick<Task, 'route' | 'queued_at'>): number {
  const route = task.route!;
  return Math.max(route.stage_since, task.queued_at ?? 0) + (route.waits[route.stage] ?? 0);
}
