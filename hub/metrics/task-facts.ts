/**
 * What one durable task change means for the counters: created, completed, an attempt failed,
 * dead-lettered, the enqueue->assign wait, an attempt's run time. A pure function of the change
 * (the task before and after, and its audit event), so metrics never scan the store.
 */
import type { Lane, TaskStatus } from '../../shared/task.js';
import type { TaskChange } from '../store/task-store.js';
import { usageDelta, type UsageTotals } from '../../shared/usage.js';

export interface TaskFacts {
  lane: Lane;
  created: boolean;
  completed: boolean;
  /** An attempt ended in failure (to failed, or to dead_letter out of attempts). */
  failed: boolean;
  deadLettered: boolean;
  /** ms from entering the queue to being offered to an agent. */
  assignMs: number | null;
  /** An attempt stopped running: how long it ran and how it ended. */
  run: { ms: number; outcome: TaskStatus } | null;
  /** Tokens and cost the change charged, per `executor/model` (docs/usage.md); empty for most changes. */
  usage: ReadonlyMap<string, UsageTotals>;
}

const ATTEMPT_STATES: ReadonlySet<TaskStatus | null> = new Set(['assigned', 'running', 'review']);

export function taskFacts({ task, before, event }: TaskChange): TaskFacts {
  const { from, to } = event;
  const transition = event.type === 'transition';
  const startedAt = before?.lease?.started_at;
  return {
    lane: task.lane,
    usage: usageDelta(before?.usage, task.usage),
    created: event.type === 'created',
    completed: transition && to === 'completed',
    failed: transition && (to === 'failed' || to === 'dead_letter') && ATTEMPT_STATES.has(from),
    deadLettered: transition && to === 'dead_letter',
    assignMs: transition && from === 'queued' && to === 'assigned' && before?.queued_at != null ? Math.max(0, event.at - before.queued_at) : null,
    run: transition && from === 'running' && startedAt !== undefined ? { ms: Math.max(0, event.at - startedAt), outcome: to } : null,
  };
}
