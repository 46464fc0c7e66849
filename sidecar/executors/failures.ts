/**
 * The executors' failure codes, each with whether a retry can help by default, and the one
 * place that turns how a child process ended into a failure. Codes are stable; messages are not.
 */
import type { ExecutorFailure, ExecutorUsage } from './executor.js';
import type { ProcessOutcome } from './run-process.js';

/**
 * `retryable` here means "running the same task again (here or on another host) can succeed".
 * A cancel is not retryable from the executor's point of view: the sidecar knows why it
 * aborted (operator cancel, drain, lease lost) and says so to the hub itself.
 */
export const EXEC_FAILURES = {
  EXEC_TIMEOUT: { retryable: true },
  EXEC_CANCELLED: { retryable: false },
  EXEC_EXIT_NONZERO: { retryable: true },
  EXEC_ERROR_RESULT: { retryable: true },
  EXEC_EMPTY_OUTPUT: { retryable: true },
  EXEC_USAGE_LIMIT: { retryable: true },
  EXEC_UNAVAILABLE: { retryable: true },
  EXEC_MODEL_MISSING: { retryable: true },
  EXEC_TURN_LIMIT: { retryable: true },
  EXEC_PROTOCOL: { retryable: true },
  EXEC_BAD_REQUEST: { retryable: false },
} as const satisfies Record<string, { retryable: boolean }>;

export type ExecFailureCode = keyof typeof EXEC_FAILURES;

/**
 * Host faults: failures that no change to the task could fix, because this host cannot run the
 * executor (not installed, not logged in, unreachable), lacks the model, or is usage-limited. The
 * sidecar hands such a task back without counting an attempt and marks the executor (or model)
 * unavailable; every other failure is the task's own and counts (docs/host-faults.md).
 */
export const HOST_FAULTS: ReadonlySet<string> = new Set<ExecFailureCode>(['EXEC_UNAVAILABLE', 'EXEC_MODEL_MISSING', 'EXEC_USAGE_LIMIT']);

export function isHostFault(failure: { code: string } | undefined | null): boolean {
  return failure != null && HOST_FAULTS.has(failure.code);
}

/** Builds a failure with the code's default retryability unless `extra` overrides it. */
export function execFailure(
  code: ExecFailureCode,
  message: string,
  extra: { retryable?: boolean; retry_after?: number } = {},
): ExecutorFailure {
  const failure: ExecutorFailure = { code, message, retryable: extra.retryable ?? EXEC_FAILURES[code].retryable };
  if (extra.retry_after !== undefined) failure.retry_after = extra.retry_after;
  return failure;
}

/** Usage of a run that spent no tokens (shell, or a model run that never reached the model). */
export function zeroUsage(wallMs: number): ExecutorUsage {
  return { input_tokens: 0, output_tokens: 0, cost_usd: 0, wall_ms: wallMs };
}

/**
 * The failure for a process that did not get to finish on its own terms (timeout, cancel,
 * could not start), or null when it ran to its own exit. `what` names the program in messages.
 */
export function interruptedFailure(p: ProcessOutcome, what: string, timeoutMs?: number): ExecutorFailure | null {
  if (p.spawnError) {
    return execFailure('EXEC_UNAVAILABLE', `${what} could not be started: ${p.spawnError.code ?? p.spawnError.message}`);
  }
  if (p.timedOut) return execFailure('EXEC_TIMEOUT', `${what} timed out after ${timeoutMs ?? p.wallMs} ms`);
  if (p.cancelled) return execFailure('EXEC_CANCELLED', `${what} was cancelled`);
  return null;
}

/** The failure for a process that exited on its own with a non-zero status or by a signal. */
export function exitFailure(p: ProcessOutcome, what: string): ExecutorFailure | null {
  if (p.exitCode === 0) return null;
  const how = p.exitCode === null ? `was killed by ${p.exitSignal ?? 'a signal'}` : `exited with status ${p.exitCode}`;
  return execFailure('EXEC_EXIT_NONZERO', `${what} ${how}`);
}
