/**
 * Reconnect reconciliation as a pure decision: given what a sidecar says it holds (`in_flight` of
 * its hello) and the leases the hub holds for that agent, what happens to each task. No store, no
 * socket: the handshake applies the decisions (hub/gateway/handshake.ts).
 *
 *   listed at the hub's generation        → resume (renew the lease, send task.resume)
 *   listed, hub holds an older generation → drop the listed one; reclaim the hub's lease below
 *   listed, hub holds a newer generation  → the same, with a reason that says which
 *   listed, hub holds no lease for it     → drop
 *   held but not listed (or listed at another generation):
 *     an offer (`assigned`)               → release to the queue, no attempt counted
 *     running                             → fail the attempt with AGENT_LOST_TASK (retryable)
 *
 * Resumes and drops come in the order of `in_flight`, then the reclaims in the order of `held`. A
 * task listed twice is decided once, by its first listing (a sidecar keeps one entry per task).
 */

/** What the sidecar lists: a task and the generation it was assigned at. */
export interface ListedTask {
  task_id: string;
  generation: number;
}

/** A lease the hub holds for this agent. */
export interface HeldLease {
  task_id: string;
  generation: number;
  status: 'assigned' | 'running';
}

export type Reconciliation =
  | { action: 'resume'; task_id: string; generation: number }
  | { action: 'drop'; task_id: string; generation: number; reason: string }
  | { action: 'release'; task_id: string; generation: number; reason: string }
  | { action: 'fail'; task_id: string; generation: number; code: 'AGENT_LOST_TASK'; message: string };

/** The `task.drop` reasons of reconciliation (docs/protocol.md quotes them). */
export const DROP_REASON = {
  notLeased: 'no longer leased to this agent',
  superseded: (current: number) => `superseded by a newer assignment (generation ${current})`,
  unknownGeneration: (current: number) => `not a generation the hub assigned: its lease is at generation ${current}`,
} as const;

export const RELEASE_REASON = 'agent reconnected without it';
export const LOST_MESSAGE = 'the agent reconnected without this task';

export function reconcile(listed: readonly ListedTask[], held: readonly HeldLease[]): Reconciliation[] {
  const byId = new Map(held.map((l) => [l.task_id, l]));
  const kept = new Set<string>();
  const seen = new Set<string>();
  const out: Reconciliation[] = [];
  for (const item of listed) {
    if (seen.has(item.task_id)) continue;
    seen.add(item.task_id);
    const lease = byId.get(item.task_id);
    if (lease?.generation === item.generation) {
      kept.add(item.task_id);
      out.push({ action: 'resume', task_id: item.task_id, generation: item.generation });
      continue;
    }
    // Only a matching generation is the sidecar's: a lease it lists at another generation is one
    // it does not have, so the hub's stays in `held` and is reclaimed below like an unlisted one.
    const reason = !lease
      ? DROP_REASON.notLeased
      : lease.generation > item.generation
        ? DROP_REASON.superseded(lease.generation)
        : DROP_REASON.unknownGeneration(lease.generation);
    out.push({ action: 'drop', task_id: item.task_id, generation: item.generation, reason });
  }
  for (const lease of held) {
    if (kept.has(lease.task_id)) continue;
    // The hub leased it to this agent, but the sidecar does not have it (it crashed before saving
    // it): give it back now rather than waiting for the lease to expire.
    out.push(
      lease.status === 'assigned'
        ? { action: 'release', task_id: lease.task_id, generation: lease.generation, reason: RELEASE_REASON }
        : { action: 'fail', task_id: lease.task_id, generation: lease.generation, code: 'AGENT_LOST_TASK', message: LOST_MESSAGE },
    );
  }
  return out;
}
