/**
 * The Claude executor: runs Claude Code headless in the worktree,
 * `claude -p --output-format stream-json --verbose ...`, with the prompt written to its stdin.
 * The prompt never goes through argv: argv is limited in size and visible to every user of the
 * host in `ps`.
 *
 * Progress comes from the streamed events; usage and cost from the final `result` event.
 * Failures are classified: a usage limit (EXEC_USAGE_LIMIT, with the reset time when given), an
 * error result (EXEC_ERROR_RESULT), a run that printed nothing (EXEC_EMPTY_OUTPUT), and the
 * process-level ones (timeout, cancel, non-zero exit, binary missing).
 */
import type { Executor, ExecutorFailure, ExecutorInfo, ExecutorRequest, ExecutorResult, ExecutorUsage } from './executor.js';
import { ClaudeStreamReader, type ClaudeResultEvent } from './claude-stream.js';
import { execFailure, exitFailure, interruptedFailure } from './failures.js';
import { runProcess } from './run-process.js';
import { executorBaseEnv } from '../child-env.js';
import { lastBytes } from './tail-buffer.js';
import { detectUsageLimit } from './usage-limit.js';

/** Options of the {@link ClaudeExecutor}. */
export interface ClaudeExecutorOptions {
  /** The Claude Code binary, a path or a name looked up on PATH. @defaultValue 'claude' */
  bin: string;
  /** Model (`--model`) when a request names none; Claude Code's default when null. @defaultValue null */
  model: string | null;
  /** `--max-turns`. @defaultValue 40 */
  maxTurns: number;
  /**
   * `--permission-mode`. 'acceptEdits' lets it edit files unattended; other tools need
   * `allowedTools`. @defaultValue 'acceptEdits'
   */
  permissionMode: string;
  /** `--allowedTools`; none passed when empty. @defaultValue ['Read','Edit','Write','Glob','Grep','Bash'] */
  allowedTools: string[];
  /** More arguments, placed before `--allowedTools`. @defaultValue [] */
  extraArgs: string[];
  /** Models reported by describe() (Claude Code does not list them). @defaultValue [] */
  models: string[];
  /** Time between SIGTERM and SIGKILL on cancel or timeout. @defaultValue 5000 */
  killGraceMs: number;
  /** Bytes of output kept in the result. @defaultValue 16384 */
  tailBytes: number;
  /** Limit of `claude --version` in describe(). @defaultValue 15000 */
  versionTimeoutMs: number;
  /**
   * Base environment (it carries the credentials); `req.env` is laid over it.
   * @defaultValue allow-listed names only, with ANTHROPIC_* and CLAUDE_* (child-env.ts)
   */
  env: NodeJS.ProcessEnv;
}

export const CLAUDE_DEFAULTS: Readonly<Omit<ClaudeExecutorOptions, 'env'>> = Object.freeze({
  bin: 'claude',
  model: null,
  maxTurns: 40,
  permissionMode: 'acceptEdits',
  allowedTools: ['Read', 'Edit', 'Write', 'Glob', 'Grep', 'Bash'],
  extraArgs: [],
  models: [],
  killGraceMs: 5_000,
  tailBytes: 16_384,
  versionTimeoutMs: 15_000,
});

export class ClaudeExecutor implements Executor {
  readonly name = 'claude' as const;
  readonly opts: ClaudeExecutorOptions;

  constructor(opts: Partial<ClaudeExecutorOptions> = {}) {
    this.opts = { ...CLAUDE_DEFAULTS, env: executorBaseEnv('claude'), ...opts };
  }

  /** The argv (after the binary) for one run; the prompt is not in it. */
  args(model: string | null): string[] {
    const o = this.opts;
    const args = ['-p', '--output-format', 'stream-json', '--verbose'];
    args.push('--max-turns', String(o.maxTurns), '--permission-mode', o.permissionMode);
    if (model) args.push('--model', model);
    args.push(...o.extraArgs);
    // Last: --allowedTools takes a list, and it must not swallow a following argument.
    if (o.allowedTools.length > 0) args.push('--allowedTools', o.allowedTools.join(','));
    return args;
  }

  async run(req: ExecutorRequest): Promise<ExecutorResult> {
    if (!req.prompt) {
      return {
        ok: false,
        output: '',
        exit_code: null,
        usage: { input_tokens: 0, output_tokens: 0, cost_usd: 0, wall_ms: 0 },
        failure: execFailure('EXEC_BAD_REQUEST', 'the claude executor needs a prompt'),
      };
    }
    const reader = new ClaudeStreamReader(req.onProgress, this.opts.tailBytes);
    const p = await runProcess({
      file: this.opts.bin,
      args: this.args(req.model ?? this.opts.model),
      cwd: req.cwd,
      env: { ...this.opts.env, ...req.env },
      stdin: req.prompt,
      timeoutMs: req.timeoutMs,
      signal: req.signal,
      killGraceMs: this.opts.killGraceMs,
      tailBytes: this.opts.tailBytes,
      onStdout: (chunk) => reader.push(chunk),
      onStderr: (data) => req.onProgress({ stream: 'stderr', data }),
      ...(req.onSpawn ? { onSpawn: req.onSpawn } : {}),
    });
    reader.end();

    const r = reader.result;
    const usage = usageOf(r, p.wallMs);
    const output = lastBytes(r?.result ?? reader.text.toString() + p.stderr, this.opts.tailBytes);
    const failure = this.classify(p, reader, req.timeoutMs);
    const result: ExecutorResult = { ok: failure === null, output, exit_code: p.exitCode, usage };
    if (failure) result.failure = failure;
    const turns = r?.num_turns;
    if (typeof turns === 'number') result.turns = turns;
    if (reader.sessionId) result.session_id = reader.sessionId;
    return result;
  }

  private classify(p: Awaited<ReturnType<typeof runProcess>>, reader: ClaudeStreamReader, timeoutMs: number): ExecutorFailure | null {
    const interrupted = interruptedFailure(p, this.opts.bin, timeoutMs);
    if (interrupted?.code === 'EXEC_UNAVAILABLE' || interrupted?.code === 'EXEC_CANCELLED') return interrupted;
    // A usage limit wins over a timeout or an error result: it says when a retry can work.
    const limit = detectUsageLimit([reader.result?.result, p.stderr, reader.text.toString(), reader.stray.toString()]);
    if (limit) {
      const extra = limit.retryAfter === undefined ? {} : { retry_after: limit.retryAfter };
      return execFailure('EXEC_USAGE_LIMIT', `Claude usage limit: ${limit.message}`, extra);
    }
    if (interrupted) return interrupted;
    const r = reader.result;
    if (r) {
      // The real CLI without credentials ends with an error result "Not logged in · Please run
      // /login" (no network needed to say so): a fault of this host, not of the task.
      if (r.is_error && r.result && NOT_LOGGED_IN.test(r.result)) {
        return execFailure('EXEC_UNAVAILABLE', `Claude Code is not logged in on this host: ${r.result.slice(0, 300)}. ${LOGIN_HINT}`);
      }
      if (r.is_error || r.subtype !== 'success') {
        const text = r.result ? `: ${r.result.slice(0, 300)}` : '';
        return execFailure('EXEC_ERROR_RESULT', `claude ended with an error result (${r.subtype})${text}`);
      }
      return exitFailure(p, this.opts.bin);
    }
    if (reader.events === 0 && reader.stray.totalBytes === 0) {
      const why = p.stderr.trim() ? `; stderr: ${p.stderr.trim().slice(-300)}` : '';
      return execFailure('EXEC_EMPTY_OUTPUT', `claude printed nothing (exit status ${p.exitCode ?? p.exitSignal})${why}`);
    }
    return exitFailure(p, this.opts.bin) ?? execFailure('EXEC_PROTOCOL', 'claude ended without a result event');
  }

  /**
   * Available when `claude --version` runs and `claude auth status` says it is logged in. Both
   * are local (no model call, no tokens spent). A CLI too old to have `auth status` is taken as
   * available; a run then tells (a "Not logged in" result is handed back as a host fault).
   */
  async describe(): Promise<ExecutorInfo> {
    const run = (args: string[]) =>
      runProcess({ file: this.opts.bin, args, cwd: process.cwd(), env: this.opts.env, timeoutMs: this.opts.versionTimeoutMs, killGraceMs: 1_000 });
    const p = await run(['--version']);
    if (p.exitCode !== 0) {
      const why = p.spawnError
        ? `${this.opts.bin} not found (${p.spawnError.code ?? p.spawnError.message}): install Claude Code (npm install -g @anthropic-ai/claude-code) or set claudeBinary`
        : `${this.opts.bin} --version failed: ${p.output.trim().slice(-200)}`;
      return { name: 'claude', available: false, models: [], detail: why };
    }
    const version = p.output.trim().slice(0, 120);
    const auth = parseAuthStatus((await run(['auth', 'status'])).output);
    if (auth && !auth.loggedIn) {
      return { name: 'claude', available: false, models: [], detail: `Claude Code ${version} is not logged in (claude auth status: authMethod ${auth.authMethod ?? 'none'}). ${LOGIN_HINT}` };
    }
    const how = auth ? `logged in (${auth.authMethod ?? 'unknown'})` : 'login not checked: this CLI has no auth status';
    return { name: 'claude', available: true, models: [...this.opts.models], detail: `${version}; ${how}` };
  }
}

/** What the CLI says in a result when it has no credentials (2.x: "Not logged in · Please run /login"). */
const NOT_LOGGED_IN = /not logged in|please run \/login|invalid api key|authentication_error|oauth token (?:has )?expired/i;
const LOGIN_HINT = 'Log in on this host (run `claude`, then /login, as the user the sidecar runs as) or give the sidecar ANTHROPIC_API_KEY; then `switchyard agent recheck <agent>`.';

/** `claude auth status` prints JSON (`{"loggedIn": false, "authMethod": "none", …}`); null when it printed none. */
export function parseAuthStatus(output: string): { loggedIn: boolean; authMethod?: string } | null {
  const start = output.indexOf('{');
  const end = output.lastIndexOf('}');
  if (start < 0 || end < start) return null;
  try {
    const v = JSON.parse(output.slice(start, end + 1)) as { loggedIn?: unknown; authMethod?: unknown };
    if (typeof v.loggedIn !== 'boolean') return null;
    return typeof v.authMethod === 'string' ? { loggedIn: v.loggedIn, authMethod: v.authMethod } : { loggedIn: v.loggedIn };
  } catch {
    return null;
  }
}

function usageOf(r: ClaudeResultEvent | undefined, wallMs: number): ExecutorUsage {
  const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
  const u = r?.usage ?? {};
  return {
    input_tokens: n(u.input_tokens),
    output_tokens: n(u.output_tokens),
    cost_usd: n(r?.total_cost_usd ?? r?.cost_usd),
    wall_ms: wallMs,
    cache_creation_input_tokens: n(u.cache_creation_input_tokens),
    cache_read_input_tokens: n(u.cache_read_input_tokens),
  };
}
