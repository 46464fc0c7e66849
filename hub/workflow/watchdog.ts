/**
 * The workflow's watchdog (docs/workflow.md, "Watchdog"): what is raised by time passing rather
 * than by a change. Pure decisions over what the workflow feature tracks from the bus:
 *  - a question open longer than `questionMs` -> an `unanswered_question` escalation (high);
 *  - a task delegated to a named agent and still queued after `delegateMs` -> its delegation ends
 *    (any able agent may take it: the scheduler places it by its own scoring, load included);
 *    still queued `delegateMs` after that -> a `delegation_untaken` escalation (high).
 */
import type { Task } from '../../shared/task.js';
import type { Raise } from './escalations.js';

export interface WatchdogSettings {
  questionMs: number;
  delegateMs: number;
}

export interface Tracked {
  task: Task;
  /** When the delegation was ended by the watchdog (null while it stands). */
  undelegatedAt: number | null;
}

export type WatchAction = { kind: 'undelegate'; taskId: string } | { kind: 'raise'; taskId: string; raise: Raise };

export function watch(tracked: Iterable<Tracked>, now: number, cfg: WatchdogSettings): WatchAction[] {
  const out: WatchAction[] = [];
  for (const { task, undelegatedAt } of tracked) {
    if (task.status === 'blocked') {
      const open = task.clarifications?.at(-1);
      if (open && open.answered_at === null && now - open.asked_at >= cfg.questionMs) {
        out.push({
          kind: 'raise',
          taskId: task.id,
          raise: { kind: 'unanswered_question', priority: 'high', title: `Question unanswered: ${task.title}`, message: `${open.asked_by} asked ${minutes(now - open.asked_at)} ago: ${open.question} — answer: switchyard task answer ${task.id} "…"` },
        });
      }
    } else if (task.status === 'queued' && task.queued_at !== null) {
      if (task.delegate !== null && undelegatedAt === null && now - task.queued_at >= cfg.delegateMs) {
        out.push({ kind: 'undelegate', taskId: task.id });
      } else if (undelegatedAt !== null && now - undelegatedAt >= cfg.delegateMs) {
        out.push({
          kind: 'raise',
          taskId: task.id,
          raise: { kind: 'delegation_untaken', priority: 'high', title: `Delegated task not taken: ${task.title}`, message: `${task.agent ?? 'its agent'} did not take it within ${minutes(cfg.delegateMs)}, nor did any other agent after that` },
        });
      }
    }
  }
  return out;
}

function minutes(ms: number): string {
  return ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}
