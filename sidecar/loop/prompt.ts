/**
 * The prompts of the build–verify–fix loop: the first one, from the task, and the corrective
 * one, from what failed. Every iteration is a fresh executor run (a new conversation), so the
 * corrective prompt carries the whole task again along with what went wrong.
 */
import type { Task, VerificationStep } from '../../shared/task.js';
import { lastBytes } from '../executors/tail-buffer.js';
import type { VerificationReport } from '../verify/types.js';

/** The task fields prompts are made of. */
export type PromptTask = Pick<Task, 'id' | 'title' | 'description' | 'context' | 'success_criteria' | 'verification'> & Partial<Pick<Task, 'assembled_context'>>;

/** Bounds of what a corrective prompt quotes, so a huge log cannot crowd out the task. */
export interface CorrectiveLimits {
  /** Bytes of each failing check's output quoted. @defaultValue 4096 */
  checkTailBytes: number;
  /** Bytes of the previous attempt's output quoted. @defaultValue 4096 */
  previousOutputBytes: number;
}

export const CORRECTIVE_DEFAULTS: Readonly<CorrectiveLimits> = Object.freeze({ checkTailBytes: 4_096, previousOutputBytes: 4_096 });

/** The first prompt: the task, its context, what success means and how it will be checked. */
export function buildTaskPrompt(task: PromptTask): string {
  const parts = [`# Task: ${task.title}`];
  if (task.description.trim()) parts.push(task.description.trim());
  const ctx = task.context ?? {};
  if (ctx.files?.length) parts.push(`## Relevant files\n${ctx.files.map((f) => `- ${f}`).join('\n')}`);
  if (ctx.notes?.trim()) parts.push(`## Notes\n${ctx.notes.trim()}`);
  if (ctx.links?.length) parts.push(`## Links\n${ctx.links.map((l) => `- ${l}`).join('\n')}`);
  // What the hub assembled for this task under its token budget (docs/context.md): plan, feedback, answers, history.
  if (task.assembled_context?.text.trim()) parts.push(`# Context from the hub\n\n${task.assembled_context.text.trim()}`);
  if (task.success_criteria.length) parts.push(`## Success criteria\n${task.success_criteria.map((c) => `- ${c}`).join('\n')}`);
  if (task.verification.length) {
    parts.push(`## How your work will be checked\n${task.verification.map((s) => `- ${describeStep(s)}`).join('\n')}`);
  }
  // git_clean can only pass if the agent commits its own work; otherwise the sidecar commits.
  const commit = task.verification.some((s) => s.type === 'git_clean')
    ? 'Commit your work on the current branch when you are done: the checks require a clean working tree.'
    : 'You need not commit: the work is committed for you once the checks pass.';
  parts.push(`Work in the current folder (a git worktree on a branch of its own). ${commit}`);
  return parts.join('\n\n');
}

/**
 * The prompt for the next attempt: what failed (each failing check with the end of its output),
 * the end of the previous attempt's own output, then the task again.
 */
export function buildCorrectivePrompt(
  task: PromptTask,
  attempt: number,
  report: VerificationReport | null,
  previousOutput: string,
  executorProblem: string | null,
  limits: Partial<CorrectiveLimits> = {},
): string {
  const l = { ...CORRECTIVE_DEFAULTS, ...limits };
  const parts = [`# Your previous attempt (${attempt}) did not succeed. Fix it.`];
  if (executorProblem) parts.push(`The previous run ended with a problem: ${executorProblem}`);
  const failing = report?.checks.filter((c) => !c.passed) ?? [];
  if (failing.length > 0) {
    parts.push(`## Failing checks (${failing.length} of ${report?.checks.length ?? 0})`);
    for (const c of failing) {
      const what = c.target ? `${c.type}: ${c.target}` : c.type;
      const exit = c.exit_code === undefined || c.exit_code === null ? '' : ` (exit ${c.exit_code})`;
      parts.push(`### ${what}${exit}\n${fence(lastBytes(c.output_tail, l.checkTailBytes))}`);
    }
  }
  if (previousOutput.trim()) {
    parts.push(`## The end of your previous output\n${fence(lastBytes(previousOutput, l.previousOutputBytes))}`);
  }
  parts.push('The files in the folder are as the previous attempt left them. Change what is needed so that every check passes.');
  parts.push(`---\n\n${buildTaskPrompt(task)}`);
  return parts.join('\n\n');
}

function describeStep(s: VerificationStep): string {
  switch (s.type) {
    case 'file_exists':
      return `the file \`${s.path}\` exists`;
    case 'test_passes':
      return s.command ? `the tests pass: \`${s.command}\` exits 0` : "the repository's tests pass";
    case 'command_succeeds':
      return `\`${s.command}\` exits 0`;
    case 'git_clean':
      return 'no uncommitted changes remain (`git status --porcelain` is empty)';
  }
}

/** A fenced block whose fence cannot be closed by the text inside. */
function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}\n${text.replace(/\n$/, '')}\n${f}`;
}
