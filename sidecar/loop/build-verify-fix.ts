/**
 * The build–verify–fix loop for one task attempt: run the executor, run the task's checks, and
 * while they fail and the budget allows, run again with a corrective prompt built from what
 * failed. Work that passes is submitted (commit, push, PR). The result carries every iteration,
 * the last verification report and the usage summed over all iterations.
 *
 * The loop never throws for a failed task; it returns `ok: false` with a classified failure:
 * - the executor's own failure when it stopped for a reason another iteration cannot fix
 *   (cancel, timeout, usage limit, executor unavailable, bad request);
 * - VERIFICATION_FAILED (retryable) when the budget ran out with checks still failing;
 * - the submission's error code when the work passed but could not be pushed.
 */
import type { Task } from '../../shared/task.js';
import { ERROR_CODES, SwitchyardError, taskFailure } from '../../shared/errors.js';
import type { Executor, ExecutorFailure, ExecutorProgress, ExecutorRequest, ExecutorResult, ExecutorUsage } from '../executors/executor.js';
import { lastBytes } from '../executors/tail-buffer.js';
import { runChecks } from '../verify/run-checks.js';
import type { CheckContext, VerificationReport } from '../verify/types.js';
import type { SubmitInfo, SubmitResult } from '../workspace/submit.js';
import { intendedCode } from '../workspace/errors.js';
import { buildCorrectivePrompt, buildPlanPrompt, buildTaskPrompt, type CorrectiveLimits } from './prompt.js';
import { checkAllowedPaths } from '../verify/allowed-paths.js';
import { resolveContext } from '../verify/types.js';
import { guardianPrompt } from './guardian.js';
import { forcedVerdict, runGuardianChecks, type GuardianCheck, type GuardianCheckContext } from '../guardian/checks.js';
import type { GuardianRole, Verdict } from '../../shared/workflow.js';

/** The task fields the loop reads. */
export type LoopTask = Pick<
  Task,
  'id' | 'title' | 'description' | 'context' | 'success_criteria' | 'verification' | 'max_attempts' | 'command' | 'model'
> &
  Partial<Pick<Task, 'max_iterations' | 'allowed_paths' | 'phase' | 'plan' | 'feedback' | 'clarifications' | 'guardian'>>;

/** Where the loop works and how it submits (a TaskWorkspace with its manager's submit bound). */
export interface LoopWorkspace {
  /** The worktree: executors' cwd and checks' root. */
  path: string;
  /** The repo's test command for `test_passes` steps without one. */
  testCommand: string | null;
  /** A guardian's workspace: the commit the guarded change is compared with (its worktree is the change). */
  diffBase?: string | null;
  /** The repo's audit command for the security guardian (guardian/checks.ts). */
  auditCommand?: string | null;
  /** Commits and pushes passing work; absent for scratch workspaces (nothing to submit). */
  submit?: (info: SubmitInfo, signal?: AbortSignal) => Promise<SubmitResult>;
}

/** What one iteration did. */
export interface IterationRecord {
  /** 1 for the first run. */
  n: number;
  executor: {
    ok: boolean;
    exit_code?: number | null;
    failure?: ExecutorFailure;
    /** The end of the executor's output (bounded by `historyTailBytes`). */
    output_tail: string;
    turns?: number;
    session_id?: string;
  };
  /** Null when the checks did not run (the executor stopped the loop). */
  verification: VerificationReport | null;
  usage: ExecutorUsage;
}

/** The outcome of the loop. */
export interface LoopResult {
  ok: boolean;
  iterations: IterationRecord[];
  /** The last verification report (full output tails), or null if no check ran. */
  verification: VerificationReport | null;
  /** Summed over all iterations. */
  usage: ExecutorUsage;
  /** Set when passing work was submitted. */
  submission: SubmitResult | null;
  failure?: ExecutorFailure;
  /** The model stopped to ask the operator (docs/workflow.md): the sidecar sends task.ask. */
  question?: { text: string; options?: string[] };
  /** A plan-phase run: the plan as the model wrote it (its whole output, bounded). */
  plan?: string;
  /** A guardian's run: its mechanical checks, and the verdict they forced when one failed. */
  guardian?: { checks: GuardianCheck[]; verdict?: Verdict };
}

/** Options of the loop. */
export interface LoopOptions {
  /**
   * Iterations of one attempt when the task names no `max_iterations` (the queue's max_attempts
   * bounds attempts, not iterations: docs/workflow.md). @defaultValue 5
   */
  maxIterations: number;
  /**
   * Iterations for the shell executor: a command cannot take a corrective prompt, and running
   * the same command again rarely fixes anything. @defaultValue 1
   */
  shellIterations: number;
  /** Runs the checks; swap it only in tests of the loop itself. @defaultValue runChecks */
  checks: (steps: LoopTask['verification'], ctx: CheckContext) => Promise<VerificationReport>;
  /** Environment of the check commands. @defaultValue the checks' own default (child-env.ts) */
  checkEnv?: NodeJS.ProcessEnv;
  /** Bytes of each output kept in the iteration history. @defaultValue 2048 */
  historyTailBytes: number;
  /** Limits of what corrective prompts quote. */
  corrective: Partial<CorrectiveLimits>;
  /** Whether to submit passing work when the workspace can. @defaultValue true */
  submit: boolean;
  /** A guardian's mechanical checks (guardian/checks.ts). @defaultValue runGuardianChecks */
  guardianChecks: (role: GuardianRole, ctx: GuardianCheckContext) => Promise<GuardianCheck[]>;
}

export const LOOP_DEFAULTS: Readonly<LoopOptions> = Object.freeze({
  maxIterations: 5,
  shellIterations: 1,
  checks: runChecks,
  guardianChecks: runGuardianChecks,
  historyTailBytes: 2_048,
  corrective: {},
  submit: true,
});

/** One run of the loop. */
export interface LoopInput {
  task: LoopTask;
  executor: Executor;
  workspace: LoopWorkspace;
  /** Time for the whole loop, executor runs and checks together. */
  timeoutMs: number;
  signal: AbortSignal;
  /** Executor progress and the loop's own status lines. */
  onProgress: (p: ExecutorProgress) => void;
  /** Called after each iteration (the sidecar reports it as task.progress). */
  onIteration?: (it: IterationRecord) => void;
  /** Passed to the executor. */
  env?: Record<string, string>;
  /** Passed to the executor: the process group of each child process it starts. */
  onSpawn?: (pgid: number) => void;
}

/** Executor failures after which another iteration cannot help, so the loop stops at once. */
const STOPPING = new Set(['EXEC_CANCELLED', 'EXEC_TIMEOUT', 'EXEC_USAGE_LIMIT', 'EXEC_UNAVAILABLE', 'EXEC_MODEL_MISSING', 'EXEC_BAD_REQUEST']);

export async function runBuildVerifyFix(input: LoopInput, options: Partial<LoopOptions> = {}): Promise<LoopResult> {
  const o: LoopOptions = { ...LOOP_DEFAULTS, ...options };
  const { task, executor, workspace } = input;
  const isShell = executor.name === 'shell';
  const budget = Math.max(1, Math.min(task.max_iterations ?? o.maxIterations, isShell ? o.shellIterations : Infinity));

  // One signal for everything: the caller's cancel or the loop's deadline.
  const deadline = Date.now() + input.timeoutMs;
  const limit = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    limit.abort();
  }, input.timeoutMs);
  const signal = AbortSignal.any([input.signal, limit.signal]);

  const iterations: IterationRecord[] = [];
  const usage: ExecutorUsage = { input_tokens: 0, output_tokens: 0, cost_usd: 0, wall_ms: 0 };
  let report: VerificationReport | null = null;
  const status = (data: string) => input.onProgress({ stream: 'status', data });
  let guardian: LoopResult['guardian'];
  const done = (ok: boolean, failure?: ExecutorFailure, submission: SubmitResult | null = null): LoopResult => {
    const r: LoopResult = { ok, iterations, verification: report, usage, submission };
    if (failure) r.failure = failure;
    if (guardian) r.guardian = guardian;
    return r;
  };
  const stopped = (): ExecutorFailure =>
    timedOut || (!input.signal.aborted && Date.now() >= deadline)
      ? { code: 'EXEC_TIMEOUT', message: `the task ran out of its ${input.timeoutMs} ms`, retryable: true }
      : { code: 'EXEC_CANCELLED', message: 'the task was cancelled', retryable: false };

  try {
    if (task.phase === 'plan' && !isShell) return await planOnly(input, signal, iterations, usage, o, done, stopped);
    if (task.guardian) {
      // The facts first: a mechanical check that fails rejects the work without asking the model.
      status(`${task.guardian.role} guardian: running its mechanical checks`);
      const env = o.checkEnv ?? input.env ?? {};
      const checks = await o.guardianChecks(task.guardian.role, {
        cwd: workspace.path,
        diffBase: workspace.diffBase ?? null,
        testCommand: workspace.testCommand,
        auditCommand: workspace.auditCommand ?? null,
        env,
        signal,
      });
      guardian = { checks };
      const forced = forcedVerdict(checks);
      if (signal.aborted) return done(false, stopped());
      if (forced) {
        status(`${task.guardian.role} guardian: ${forced.summary ?? 'a check failed'}`);
        guardian.verdict = forced;
        return done(true);
      }
    }
    let prompt = task.guardian ? await guardianPrompt(task, workspace.path, guardian?.checks ?? []) : buildTaskPrompt(task);
    let lastFailure: ExecutorFailure | undefined;
    for (let n = 1; n <= budget; n++) {
      if (signal.aborted) return done(false, stopped());
      status(`iteration ${n}/${budget}: running ${executor.name}`);
      const req: ExecutorRequest = {
        taskId: task.id,
        cwd: workspace.path,
        timeoutMs: Math.max(1, deadline - Date.now()),
        signal,
        onProgress: input.onProgress,
      };
      if (isShell) req.command = task.command ?? undefined;
      else req.prompt = prompt;
      if (task.model) req.model = task.model;
      if (input.env) req.env = input.env;
      if (input.onSpawn) req.onSpawn = input.onSpawn;
      if (task.allowed_paths?.length) req.allowedPaths = task.allowed_paths;
      if (!isShell) req.canAsk = true;

      const res = await executor.run(req);
      addUsage(usage, res.usage);
      lastFailure = res.failure;
      const record = iterationRecord(n, res, o.historyTailBytes);
      iterations.push(record);

      if (res.failure && STOPPING.has(res.failure.code)) {
        input.onIteration?.(record);
        // The executor saw our own deadline as its timeout, or our cancel as a cancel.
        return done(false, signal.aborted ? stopped() : res.failure);
      }
      if (res.question) {
        // The model asked the operator: the attempt stops here, nothing is checked or submitted.
        input.onIteration?.(record);
        const asked = done(false);
        asked.question = res.question;
        return asked;
      }

      const checkCtx = { cwd: workspace.path, testCommand: workspace.testCommand, signal, env: o.checkEnv };
      report = await o.checks(task.verification, checkCtx);
      if (task.allowed_paths?.length) {
        // A change outside the allowed paths fails verification, naming the paths (PATH_NOT_ALLOWED).
        const bounds = await checkAllowedPaths(task.allowed_paths, resolveContext(checkCtx));
        report = { ...report, passed: report.passed && bounds.passed, checks: [...report.checks, bounds] };
      }
      record.verification = trimReport(report, o.historyTailBytes);
      input.onIteration?.(record);
      if (signal.aborted) return done(false, stopped());

      // A shell task is its command: a failed command fails the task whatever the checks say.
      // A model's run is judged by the checks when there are any; without checks, by the run.
      const passed = report.passed && (isShell || task.verification.length === 0 ? res.ok : true);
      status(`iteration ${n}/${budget}: ${passed ? 'checks passed' : `not done (${summary(report, res)})`}`);
      if (passed) return await submitPassing(input, o, signal, done, iterations.length);

      prompt = buildCorrectivePrompt(task, n, report, res.output, res.ok ? null : (res.failure?.message ?? 'it failed'), o.corrective);
    }
    // The checks passed but the run itself failed (a shell command's exit status): that failure
    // is the reason, not the checks.
    if (report?.passed && lastFailure) return done(false, lastFailure);
    const failing = report?.checks.filter((c) => !c.passed).map((c) => c.type) ?? [];
    return done(
      false,
      taskFailure('VERIFICATION_FAILED', `the work did not pass after ${iterations.length} iteration(s)${failing.length ? `; failing: ${failing.join(', ')}` : ''}`),
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A plan-phase run (plan and strict modes): one run of the model with the plan prompt; no checks,
 * no submission, and whatever it changed in the worktree is not kept (the workspace is released).
 * The plan is the run's output; the hub stores it for the operator's approval.
 */
async function planOnly(
  input: LoopInput,
  signal: AbortSignal,
  iterations: IterationRecord[],
  usage: ExecutorUsage,
  o: LoopOptions,
  done: (ok: boolean, failure?: ExecutorFailure) => LoopResult,
  stopped: () => ExecutorFailure,
): Promise<LoopResult> {
  input.onProgress({ stream: 'status', data: 'planning: running the model for a plan' });
  const req: ExecutorRequest = { taskId: input.task.id, cwd: input.workspace.path, timeoutMs: input.timeoutMs, signal, onProgress: input.onProgress, prompt: buildPlanPrompt(input.task), canAsk: true };
  if (input.task.model) req.model = input.task.model;
  if (input.env) req.env = input.env;
  if (input.onSpawn) req.onSpawn = input.onSpawn;
  const res = await input.executor.run(req);
  addUsage(usage, res.usage);
  const record = iterationRecord(1, res, o.historyTailBytes);
  iterations.push(record);
  input.onIteration?.(record);
  if (signal.aborted) return done(false, stopped());
  if (res.question) return { ...done(false), question: res.question };
  if (!res.ok) return done(false, res.failure ?? taskFailure('EXEC_FAILED', 'the planning run failed'));
  return { ...done(true), plan: lastBytes(res.output, 65_536) };
}

async function submitPassing(
  input: LoopInput,
  o: LoopOptions,
  signal: AbortSignal,
  done: (ok: boolean, failure?: ExecutorFailure, submission?: SubmitResult | null) => LoopResult,
  iterations: number,
): Promise<LoopResult> {
  const submit = input.workspace.submit;
  if (!o.submit || !submit) return done(true);
  try {
    const body = `Work of Switchyard task ${input.task.id}, verified after ${iterations} iteration(s).`;
    const submission = await submit({ taskId: input.task.id, title: input.task.title, body }, signal);
    return done(true, undefined, submission);
  } catch (err) {
    const code = intendedCode(err) ?? 'SUBMIT_FAILED';
    const retryable = err instanceof SwitchyardError ? err.retryable : ERROR_CODES.SUBMIT_FAILED.retryable;
    return done(false, taskFailure(code, `the work passed but was not submitted: ${(err as Error).message}`, retryable));
  }
}

function addUsage(total: ExecutorUsage, u: ExecutorUsage): void {
  total.input_tokens += u.input_tokens;
  total.output_tokens += u.output_tokens;
  total.cost_usd += u.cost_usd;
  total.wall_ms += u.wall_ms;
  if (u.cache_creation_input_tokens !== undefined) {
    total.cache_creation_input_tokens = (total.cache_creation_input_tokens ?? 0) + u.cache_creation_input_tokens;
  }
  if (u.cache_read_input_tokens !== undefined) {
    total.cache_read_input_tokens = (total.cache_read_input_tokens ?? 0) + u.cache_read_input_tokens;
  }
}

function iterationRecord(n: number, res: ExecutorResult, tailBytes: number): IterationRecord {
  const executor: IterationRecord['executor'] = { ok: res.ok, output_tail: lastBytes(res.output, tailBytes) };
  if (res.exit_code !== undefined) executor.exit_code = res.exit_code;
  if (res.failure) executor.failure = res.failure;
  if (res.turns !== undefined) executor.turns = res.turns;
  if (res.session_id !== undefined) executor.session_id = res.session_id;
  return { n, executor, verification: null, usage: { ...res.usage } };
}

/** The report with each check's output cut for the history (the final report keeps it whole). */
function trimReport(r: VerificationReport, tailBytes: number): VerificationReport {
  return { ...r, checks: r.checks.map((c) => ({ ...c, output_tail: lastBytes(c.output_tail, tailBytes) })) };
}

function summary(report: VerificationReport, res: ExecutorResult): string {
  const failing = report.checks.filter((c) => !c.passed).map((c) => c.type);
  if (failing.length) return `failing: ${failing.join(', ')}`;
  return res.failure ? res.failure.code : 'the run failed';
}
