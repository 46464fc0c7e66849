/**
 * The shapes of mechanical verification: what one check reports, what a whole run reports, and
 * what checks need to know about where they run.
 */
import type { VerificationStep } from '../../shared/task.js';
import { executorBaseEnv } from '../child-env.js';

/** A task's own steps, and `allowed_paths`, which the loop adds for a task that names them. */
export type CheckType = VerificationStep['type'] | 'allowed_paths';

/** One check's outcome. */
export interface CheckResult {
  type: CheckType;
  passed: boolean;
  duration_ms: number;
  /** The end of what the check saw (a command's output, or why it failed), bounded. */
  output_tail: string;
  /** What was checked: the command or the path; absent for git_clean. */
  target?: string;
  /** For command checks: the exit status (null when killed or not started). */
  exit_code?: number | null;
}

/** The outcome of all of a task's checks. */
export interface VerificationReport {
  /** True when every check passed (and so for no checks at all). */
  passed: boolean;
  checks: CheckResult[];
  duration_ms: number;
}

/** Where and how checks run. */
export interface CheckContext {
  /** The task's worktree; commands run here and paths resolve against it. */
  cwd: string;
  /** The repo's configured test command, used by `test_passes` steps that name none. */
  testCommand?: string | null;
  /** Limit of a command check that gives no `timeout_ms`. @defaultValue 600000 */
  timeoutMs?: number;
  /** Aborting stops the running check and fails the rest. */
  signal?: AbortSignal;
  /** The commands' environment. @defaultValue allow-listed names only (child-env.ts) */
  env?: NodeJS.ProcessEnv;
  /** Bytes of output kept per check. @defaultValue 8192 */
  tailBytes?: number;
  /** Time between SIGTERM and SIGKILL for a command. @defaultValue 2000 */
  killGraceMs?: number;
  /** The git binary. @defaultValue 'git' */
  git?: string;
}

export const CHECK_DEFAULTS = Object.freeze({ timeoutMs: 600_000, tailBytes: 8_192, killGraceMs: 2_000, git: 'git' });

/** A context with its defaults filled in. */
export type ResolvedCheckContext = CheckContext & typeof CHECK_DEFAULTS & { env: NodeJS.ProcessEnv };

export function resolveContext(ctx: CheckContext): ResolvedCheckContext {
  return { ...CHECK_DEFAULTS, env: executorBaseEnv('shell'), ...ctx } as ResolvedCheckContext;
}
