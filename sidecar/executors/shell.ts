/**
 * The shell executor: runs the task's command with `/bin/sh -c` in the task's worktree, as the
 * leader of its own process group so that a cancel or timeout stops everything it started.
 */
import { access, constants } from 'node:fs/promises';
import type { Executor, ExecutorInfo, ExecutorRequest, ExecutorResult } from './executor.js';
import { execFailure, exitFailure, interruptedFailure, zeroUsage } from './failures.js';
import { runProcess } from './run-process.js';
import { executorBaseEnv } from '../child-env.js';

/** Options of the {@link ShellExecutor}. */
export interface ShellExecutorOptions {
  /** The shell that runs `-c command`. @defaultValue '/bin/sh' */
  shell: string;
  /** Time between SIGTERM and SIGKILL on cancel or timeout. @defaultValue 2000 */
  killGraceMs: number;
  /** Bytes of output kept in the result. @defaultValue 16384 */
  tailBytes: number;
  /** The base environment; `req.env` is laid over it. @defaultValue allow-listed names only (child-env.ts) */
  env: NodeJS.ProcessEnv;
}

export const SHELL_DEFAULTS: Readonly<Omit<ShellExecutorOptions, 'env'>> = Object.freeze({
  shell: '/bin/sh',
  killGraceMs: 2_000,
  tailBytes: 16_384,
});

export class ShellExecutor implements Executor {
  readonly name = 'shell' as const;
  private readonly opts: ShellExecutorOptions;

  constructor(opts: Partial<ShellExecutorOptions> = {}) {
    this.opts = { ...SHELL_DEFAULTS, env: executorBaseEnv('shell'), ...opts };
  }

  async run(req: ExecutorRequest): Promise<ExecutorResult> {
    if (!req.command) {
      const failure = execFailure('EXEC_BAD_REQUEST', 'the shell executor needs a command');
      return { ok: false, output: '', exit_code: null, usage: zeroUsage(0), failure };
    }
    const p = await runProcess({
      file: this.opts.shell,
      args: ['-c', req.command],
      cwd: req.cwd,
      env: { ...this.opts.env, ...req.env },
      timeoutMs: req.timeoutMs,
      signal: req.signal,
      killGraceMs: this.opts.killGraceMs,
      tailBytes: this.opts.tailBytes,
      onStdout: (data) => req.onProgress({ stream: 'stdout', data }),
      onStderr: (data) => req.onProgress({ stream: 'stderr', data }),
      ...(req.onSpawn ? { onSpawn: req.onSpawn } : {}),
    });
    const failure = interruptedFailure(p, 'the command', req.timeoutMs) ?? exitFailure(p, 'the command');
    const result: ExecutorResult = { ok: failure === null, output: p.output, exit_code: p.exitCode, usage: zeroUsage(p.wallMs) };
    if (failure) result.failure = failure;
    return result;
  }

  async describe(): Promise<ExecutorInfo> {
    try {
      await access(this.opts.shell, constants.X_OK);
      return { name: 'shell', available: true, models: [] };
    } catch {
      return { name: 'shell', available: false, models: [], detail: `${this.opts.shell} is not executable` };
    }
  }
}
