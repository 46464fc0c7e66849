/**
 * A finished task's history entry, mechanically from its record (docs/context.md, "History"):
 * title, outcome, files, commit, the decisions and answers given on it. Nothing is inferred: a
 * summary appears only when the agent's result carried one (`summary`, or `model_summary` from a
 * model the sidecar has), marked by who wrote it. Pure: no store, no clock.
 */
import type { HistoryEntry, HistoryOutcome } from '../../shared/context.js';
import type { Task } from '../../shared/task.js';

/** The repo key of a task without a repo: its history is kept under this name. */
export const NO_REPO = '_';

/** Outcomes that end a task for good, and so add it to its repo's history. */
const OUTCOMES: ReadonlySet<string> = new Set<HistoryOutcome>(['completed', 'dead_letter', 'cancelled']);

/** Whether this change finished the task (and so makes a history entry). */
export function finishes(task: Task, before: Task | null): boolean {
  return OUTCOMES.has(task.status) && before !== null && before.status !== task.status;
}

/** Bounds, so one task's record cannot make a huge entry. */
const MAX_FILES = 64;
const MAX_TEXT = 600;

/** The entry for a finished task, without its `seq` (the store numbers it). */
export function entryOf(task: Task, at: number): Omit<HistoryEntry, 'seq'> {
  const result = asRecord(task.result);
  const submission = asRecord(result?.submission);
  const evidence = task.evidence ?? null;
  const changed = strings(evidence?.files_changed) ?? strings(result?.files_changed) ?? strings(submission?.files_changed);
  const files = (changed ?? task.context.files ?? []).slice(0, MAX_FILES);
  const commit = evidence?.commit ?? str(submission?.commit) ?? str(result?.commit) ?? null;
  const decisions = (task.feedback ?? []).map((f) => clip(`${f.kind} by ${f.by}: ${f.text}`));
  if (task.plan?.approved_by) decisions.unshift(clip(`plan approved by ${task.plan.approved_by}${task.plan.steps.length ? `: ${task.plan.steps.join('; ')}` : ''}`));
  const answers = (task.clarifications ?? []).map((c) => ({ question: clip(c.question), answer: c.answer === null ? null : clip(c.answer) }));
  const modelSummary = str(result?.model_summary);
  const agentSummary = str(result?.summary);
  return {
    repo: task.repo ?? NO_REPO,
    task_id: task.id,
    title: task.title,
    outcome: task.status as HistoryOutcome,
    at,
    files,
    commit,
    decisions,
    answers,
    error: task.status === 'completed' || !task.last_error ? null : clip(`${task.last_error.code}: ${task.last_error.message}`),
    summary: modelSummary ? clip(modelSummary) : agentSummary ? clip(agentSummary) : null,
    summary_by: modelSummary ? 'model' : agentSummary ? 'agent' : null,
    archived: false,
  };
}

function asRecord(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v : null;
}

function strings(v: unknown): string[] | null {
  if (!Array.isArray(v)) return null;
  const out = v.filter((x): x is string => typeof x === 'string' && x !== '');
  return out.length ? out : null;
}

function clip(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s;
}
