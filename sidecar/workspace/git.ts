/**
 * Runs git for the workspace: never interactive (no credential or editor prompt can hang a
 * task), bounded in time, with credentials redacted from every error it raises.
 */
import { runProcess } from '../executors/run-process.js';
import { sidecarError } from './errors.js';
import { redactUrlCredentials } from './redact.js';

/** How git runs. */
export interface GitOptions {
  /** The git binary. @defaultValue 'git' */
  bin: string;
  /** Base environment. @defaultValue process.env */
  env: NodeJS.ProcessEnv;
  /** Limit of one command. @defaultValue 60000 */
  timeoutMs: number;
}

export interface GitCall {
  cwd: string;
  /** Overrides the limit (network commands get longer). */
  timeoutMs?: number;
  stdin?: string;
  /** Laid over the base environment. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** What a git command printed and how it ended. */
export interface GitOutput {
  ok: boolean;
  exitCode: number | null;
  stdout: string;
  /** stdout and stderr together (the end of them), credentials redacted. */
  output: string;
}

export class Git {
  constructor(readonly opts: GitOptions) {}

  /** Runs git; never throws for a failed command (see {@link Git.run} for that). */
  async try(args: readonly string[], call: GitCall): Promise<GitOutput> {
    let stdout = '';
    const p = await runProcess({
      file: this.opts.bin,
      args,
      cwd: call.cwd,
      env: {
        ...this.opts.env,
        GIT_TERMINAL_PROMPT: '0',
        GIT_EDITOR: 'true',
        GCM_INTERACTIVE: 'never',
        ...call.env,
      },
      stdin: call.stdin,
      timeoutMs: call.timeoutMs ?? this.opts.timeoutMs,
      signal: call.signal,
      tailBytes: 65_536,
      onStdout: (c) => {
        stdout += c;
      },
    });
    const why = p.spawnError ? `\n[could not start ${this.opts.bin}: ${p.spawnError.code}]` : p.timedOut ? '\n[timed out]' : '';
    return { ok: p.exitCode === 0, exitCode: p.exitCode, stdout, output: redactUrlCredentials(p.output + why) };
  }

  /** Runs git and returns its trimmed stdout; a failure throws SIDECAR_GIT_FAILED. */
  async run(args: readonly string[], call: GitCall): Promise<string> {
    const r = await this.try(args, call);
    if (!r.ok) {
      throw sidecarError('SIDECAR_GIT_FAILED', `git ${args[0] ?? ''} failed: ${r.output.trim().slice(-500)}`, {
        args: args.map(redactUrlCredentials),
        exit_code: r.exitCode,
      });
    }
    return r.stdout.trim();
  }
}
