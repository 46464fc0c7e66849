/**
 * Runs one task on this host: decides whether it can (executor, repo), prepares its workspace
 * (a git worktree on a task branch, or a scratch folder for a task without a repo), runs the
 * build–verify–fix loop, releases the workspace, and turns the outcome into the result the hub
 * stores: every iteration, the last verification report, cumulative usage and the submission.
 */
import type { Logger } from 'pino';
import { SwitchyardError, taskFailure } from '../shared/errors.js';
import type { ExecutorAdvert } from '../shared/protocol.js';
import type { ExecutorName, Task } from '../shared/task.js';
import type { Executor, ExecutorFailure, ExecutorProgress } from './executors/executor.js';
import { runBuildVerifyFix, type IterationRecord, type LoopResult } from './loop/build-verify-fix.js';
import { evidenceOf } from './loop/evidence.js';
import { loopWorkspace } from './loop/workspace-adapter.js';
import type { WorkspaceManager } from './workspace/workspace-manager.js';
import { taskEnv, type EnvPolicy } from './child-env.js';
import { isHostFault } from './executors/failures.js';

export interface RunOutcome {
  ok: boolean;
  result: Record<string, unknown>;
  /** What task.fail reports; `retry_after` when the executor said when a retry can succeed. */
  error?: { code: string; message: string; retryable: boolean; retry_after?: number };
  /**
   * Set when the run failed because of this host, not the task (failures.ts HOST_FAULTS): the
   * sidecar hands the task back without an attempt and marks the executor or model unavailable.
   */
  hostFault?: HostFault;
  /** The model asked the operator a question: the sidecar sends task.ask (the task goes blocked). */
  question?: { text: string; options?: string[] };
}

/** A host fault as the sidecar acts on it. */
export interface HostFault {
  executor: ExecutorName;
  /** The executor failure code (EXEC_UNAVAILABLE, EXEC_MODEL_MISSING, EXEC_USAGE_LIMIT). */
  code: string;
  /** The executor's own message. */
  message: string;
  /** The model this host lacks (EXEC_MODEL_MISSING); absent when the whole executor is at fault. */
  model?: string;
  /** When it can work again, when the executor said (a usage limit's reset). */
  until?: number;
}

/** The executor a task runs on: the one it names, else shell for a command, else a model executor. */
export function chooseExecutor(task: Task, executors: ReadonlyMap<ExecutorName, Executor>): ExecutorName | null {
  if (task.executor) return executors.has(task.executor) ? task.executor : null;
  if (task.command) return executors.has('shell') ? 'shell' : null;
  for (const name of ['claude', 'ollama'] as const) if (executors.has(name)) return name;
  return null;
}

export interface TaskRunnerOptions {
  /** Upper bound of one attempt when the task's own overall timeout is larger. */
  taskTimeoutMs: number;
  /** What task processes inherit and are given (child-env.ts). @defaultValue nothing beyond the allow-list */
  envPolicy?: EnvPolicy;
}

export class TaskRunner {
  constructor(
    private readonly executors: ReadonlyMap<ExecutorName, Executor>,
    private readonly workspaces: WorkspaceManager,
    private readonly opts: TaskRunnerOptions,
    private readonly log: Logger,
  ) {}

  /**
   * Why this host cannot take a task (a code from shared/errors.ts and a reason), or null.
   * `advertised` is what the executors last said they can do (available, models).
   */
  refusal(task: Task, advertised: readonly ExecutorAdvert[] = []): { code: string; reason: string } | null {
    const name = chooseExecutor(task, this.executors);
    if (!name) {
      return { code: 'SIDECAR_EXECUTOR_UNAVAILABLE', reason: `this host has no ${task.executor ?? 'executor for it'}` };
    }
    const advert = advertised.find((a) => a.name === name);
    if (advert && !advert.available) {
      return { code: 'SIDECAR_EXECUTOR_UNAVAILABLE', reason: `the ${name} executor is not available on this host now${advert.reason ? `: ${advert.reason}` : ''}` };
    }
    const modelFault = task.model === null ? undefined : advert?.model_faults?.find((m) => m.name === task.model);
    if (modelFault) return { code: 'SIDECAR_EXECUTOR_UNAVAILABLE', reason: `the ${name} executor here cannot run model '${task.model}' now: ${modelFault.reason}` };
    // An executor that lists no models (Claude without a configured list) takes any model name.
    if (task.model !== null && advert && advert.models.length > 0 && !advert.models.includes(task.model)) {
      return { code: 'SIDECAR_EXECUTOR_UNAVAILABLE', reason: `the ${name} executor here has no model '${task.model}'` };
    }
    if (task.repo !== null && !this.workspaces.hasRepo(task.repo)) {
      return { code: 'SIDECAR_REPO_UNKNOWN', reason: `this host does not have repo '${task.repo}'` };
    }
    return null;
  }

  async run(
    task: Task,
    signal: AbortSignal,
    onProgress: (p: ExecutorProgress) => void,
    onIteration: (it: IterationRecord) => void,
    onSpawn?: (pgid: number) => void,
  ): Promise<RunOutcome> {
    const name = chooseExecutor(task, this.executors);
    if (!name) return failed({ code: 'SIDECAR_EXECUTOR_UNAVAILABLE', message: 'no executor for this task', retryable: false });
    let ws;
    try {
      ws = await this.workspaces.prepare(task, signal);
    } catch (err) {
      const e = err instanceof SwitchyardError ? err : new SwitchyardError('SIDECAR_GIT_FAILED', (err as Error).message, undefined, { cause: err });
      return failed({ code: e.code, message: e.message, retryable: e.retryable });
    }
    try {
      // Built on purpose, never the sidecar's own: the executor and every check get exactly this.
      const env = taskEnv(name, this.opts.envPolicy ?? { envPass: [], env: {} }, [ws.repo?.env, task.env]);
      const loop = await runBuildVerifyFix(
        {
          task,
          executor: this.executors.get(name)!,
          workspace: loopWorkspace(this.workspaces, ws),
          timeoutMs: Math.min(task.timeouts.overall_ms, this.opts.taskTimeoutMs),
          signal,
          onProgress,
          onIteration,
          env,
          ...(onSpawn ? { onSpawn } : {}),
        },
        { checkEnv: env },
      );
      return outcomeOf(name, ws.branch, loop);
    } finally {
      await this.workspaces.release(ws).catch((err) => this.log.warn({ err, task_id: task.id }, 'releasing the workspace failed'));
    }
  }
}

function failed(error: { code: string; message: string; retryable: boolean }): RunOutcome {
  return { ok: false, result: {}, error };
}

/** The result the hub stores for a run of the loop. */
export function outcomeOf(executor: ExecutorName, branch: string | null, loop: LoopResult): RunOutcome {
  const last = loop.iterations[loop.iterations.length - 1];
  const result: Record<string, unknown> = {
    executor,
    output_tail: last?.executor.output_tail ?? '',
    exit_code: last?.executor.exit_code ?? null,
    iterations: loop.iterations,
    verification: loop.verification,
    usage: loop.usage,
    branch,
    submission: loop.submission,
    url: loop.submission?.pr_url ?? loop.submission?.url ?? null,
  };
  if (loop.plan !== undefined) result.plan = loop.plan;
  else if (loop.ok) result.evidence = evidenceOf(loop.verification, loop.submission);
  if (loop.guardian) {
    // The guardian's mechanical checks, and the verdict they force when one of them failed.
    result.guardian_checks = loop.guardian.checks;
    if (loop.guardian.verdict) result.verdict = loop.guardian.verdict;
  }
  if (loop.question) return { ok: false, result, question: loop.question };
  if (loop.ok) return { ok: true, result };
  const f: ExecutorFailure = loop.failure ?? taskFailure('EXEC_FAILED', 'the run failed');
  const outcome: RunOutcome = { ok: false, result, error: { code: f.code, message: f.message, retryable: f.retryable } };
  if (f.retry_after !== undefined) outcome.error!.retry_after = f.retry_after;
  if (isHostFault(f)) {
    const fault: HostFault = { executor, code: f.code, message: f.message };
    if (f.model !== undefined) fault.model = f.model;
    if (f.retry_after !== undefined) fault.until = f.retry_after;
    outcome.hostFault = fault;
  }
  return outcome;
}
