/**
 * The prompts of the build–verify–fix loop: the first one, from the task, and the corrective
 * one, from what failed. Every iteration is a fresh executor run (a new conversation), so the
 * corrective prompt carries the whole task again along with what went wrong.
 */
import type { Task, VerificationStep } from '../../shared/task.js';
import { lastBytes } from '../executors/tail-buffer.js';
import type { VerificationReport } from '../verify/types.js';

/** The task fields prompts are made of. */
export type PromptTask = Pick<Task, 'id' | 'title' | 'description' | 'context' | 'success_criteria' | 'verification'> &
  Partial<Pick<Task, 'feedback' | 'clarifications' | 'plan' | 'phase' | 'allowed_paths' | 'assembled_context'>>;

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
  // What the hub assembled under its token budget (docs/context.md): earlier work in the repo, recent
  // failures on the same files, file excerpts. The plan, feedback and answers come from the record below.
  const hub = task.assembled_context ? (task.assembled_context.extras ?? task.assembled_context.text).trim() : '';
  if (hub) parts.push(`# Context from the hub\n\n${hub}`);
  if (task.success_criteria.length) parts.push(`## Success criteria\n${task.success_criteria.map((c) => `- ${c}`).join('\n')}`);
  if (task.verification.length) {
    parts.push(`## How your work will be checked\n${task.verification.map((s) => `- ${describeStep(s)}`).join('\n')}`);
  }
  parts.push(...workflowSections(task));
  // The sidecar commits every change that .gitignore does not exclude once the checks pass
  // (git_clean included: it asks that nothing be left outside that commit).
  parts.push('Work in the current folder (a git worktree on a branch of its own). You need not commit: every change not excluded by .gitignore is committed for you once the checks pass, so leave no scratch files behind.');
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
      return 'nothing is left outside the commit: no conflicts, no nested repositories, every change committable';
  }
}

/** A fenced block whose fence cannot be closed by the text inside. */
function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}\n${text.replace(/\n$/, '')}\n${f}`;
}

/**
 * What the review workflow put on the task (docs/workflow.md): the approved plan, the files it may
 * change, the operator's answers to its questions, and the feedback that reopened it, quoted.
 */
export function workflowSections(task: PromptTask): string[] {
  const parts: string[] = [];
  if (task.allowed_paths?.length) {
    parts.push(`## Files you may change\nOnly these files or folders; a change elsewhere fails verification:\n${task.allowed_paths.map((p) => `- ${p}`).join('\n')}`);
  }
  const plan = task.plan;
  if (plan && plan.approved_at !== null && task.phase !== 'plan') {
    const lines = ['## The approved plan (follow it)'];
    if (plan.steps.length) lines.push(`Steps:\n${plan.steps.map((s, i) => `${i + 1}. ${s}`).join('\n')}`);
    if (plan.files.length) lines.push(`Files:\n${plan.files.map((f) => `- ${f}`).join('\n')}`);
    if (plan.risks.length) lines.push(`Risks:\n${plan.risks.map((r) => `- ${r}`).join('\n')}`);
    if (!plan.steps.length && plan.text) lines.push(quote(plan.text));
    parts.push(lines.join('\n\n'));
  }
  const answered = (task.clarifications ?? []).filter((c) => c.answered_at !== null);
  if (answered.length) {
    parts.push(
      `## Answers to your questions\n${answered.map((c) => `Q: ${c.question}\nA: ${c.answer ?? (c.forced ? '(no answer: the operator said to go on with your best judgement)' : '')}`).join('\n\n')}`,
    );
  }
  const feedback = task.feedback ?? [];
  if (feedback.length) {
    const last = feedback[feedback.length - 1]!;
    const lines = [`## Your earlier work was rejected (${feedback.length} time${feedback.length > 1 ? 's' : ''}); address this feedback`];
    lines.push(`${last.kind === 'guardian' ? `From ${last.by.split(':').slice(0, 2).join(' ')}` : `From ${last.by} (${last.kind})`}:\n${quote(last.text)}`);
    for (const f of last.findings ?? []) lines.push(`- ${f.severity ? `[${f.severity}] ` : ''}${f.file ? `${f.file}${f.line !== undefined ? `:${f.line}` : ''}: ` : ''}${f.message}`);
    if (feedback.length > 1) lines.push(`Earlier feedback:\n${feedback.slice(0, -1).map((f) => `- ${f.text.replace(/\s+/g, ' ').slice(0, 300)}`).join('\n')}`);
    parts.push(lines.join('\n\n'));
  }
  return parts;
}

/** The prompt of a plan-phase run: the task, and what a plan must say. */
export function buildPlanPrompt(task: PromptTask): string {
  return [
    '# Plan this task; do not change any file yet.',
    'Answer with a plan an operator will approve or refuse, in three sections with list items:\n\nSteps:\n- …\n\nFiles:\n- (each file you will touch)\n\nRisks:\n- …',
    `---\n\n${buildTaskPrompt({ ...task, phase: 'plan' })}`,
  ].join('\n\n');
}

/** Text quoted as a markdown block quote. */
function quote(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((l) => `> ${l}`)
    .join('\n');
}
