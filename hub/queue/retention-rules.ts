/**
 * What retention may remove from the live store (docs/operations.md, "Retention and compaction"):
 * a task that finished (completed, cancelled) or dead-lettered longer ago than its status's
 * limit, and that no live task still needs. Pure rules: the store finds candidates through its
 * finish index (`f!<status>!<finishedAt>!<id>`, keys.ts) and applies the removal.
 *
 * Why "no live dependant": a dependant reads its dependencies when it may start (dependencies.ts
 * depsCompleted) and when it is retried (revive). A dependency without an edge to it was already
 * completed when the dependant was created, so a missing dependency is read as completed; one
 * with an edge stays until every dependant is completed or cancelled (or removed itself).
 */
import type { Task, TaskStatus } from '../../shared/task.js';

/** How long each removable status stays in the live store after it finished; 0 keeps it forever. */
export interface RetentionLimits {
  /** @defaultValue 30 days */
  completedMs: number;
  /** @defaultValue 30 days */
  cancelledMs: number;
  /** Longer: a dead-lettered task may still be retried by an operator. @defaultValue 90 days */
  deadLetterMs: number;
}

export const DAY_MS = 86_400_000;

export const DEFAULT_RETENTION_LIMITS: Readonly<RetentionLimits> = Object.freeze({
  completedMs: 30 * DAY_MS,
  cancelledMs: 30 * DAY_MS,
  deadLetterMs: 90 * DAY_MS,
});

/** The statuses retention removes, each with a finish index. */
export const RETAINED_STATUSES: readonly TaskStatus[] = ['completed', 'cancelled', 'dead_letter'];
const RETAINED = new Set<TaskStatus>(RETAINED_STATUSES);

/** Statuses from which a task never reads its dependencies again. */
const SETTLED = new Set<TaskStatus>(['completed', 'cancelled']);

/** When a task of a retained status reached it (its last change: updated_at), else null. */
export function finishedAt(task: Task): number | null {
  return RETAINED.has(task.status) ? task.updated_at : null;
}

/** The limit of a status; 0 (keep forever) for a status retention does not remove. */
export function limitOf(status: TaskStatus, limits: RetentionLimits): number {
  switch (status) {
    case 'completed':
      return limits.completedMs;
    case 'cancelled':
      return limits.cancelledMs;
    case 'dead_letter':
      return limits.deadLetterMs;
    default:
      return 0;
  }
}

/** Tasks of `status` that finished before this time may go; null when the status is kept forever. */
export function cutoffOf(status: TaskStatus, now: number, limits: RetentionLimits): number | null {
  const limit = limitOf(status, limits);
  return limit > 0 ? now - limit : null;
}

/**
 * Whether `task` may be removed at `now`. `dependants` are the records of the tasks registered as
 * its dependants (undefined for one removed already). Returns null when it may, else why not.
 */
export function whyKept(task: Task, now: number, limits: RetentionLimits, dependants: ReadonlyArray<Task | undefined>): string | null {
  const finished = finishedAt(task);
  if (finished === null) return `status ${task.status} is not removed by retention`;
  const cutoff = cutoffOf(task.status, now, limits);
  if (cutoff === null) return `${task.status} tasks are kept forever`;
  if (finished >= cutoff) return `finished too recently`;
  const live = dependants.find((d) => d !== undefined && !SETTLED.has(d.status));
  if (live) return `dependant ${live.id} is ${live.status}`;
  return null;
}

/** The UTC day (YYYY-MM-DD) of a time: the archive file a task goes to. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
