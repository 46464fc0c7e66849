/**
 * Retry delay: exponential in the attempt number, capped, with "equal jitter" (half fixed, half
 * random) so that tasks failing together do not retry together, yet never retry instantly.
 */
export interface BackoffOptions {
  /** Delay before the first retry. @defaultValue 1000 */
  baseMs: number;
  /** Upper bound of any delay. @defaultValue 300000 */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 300_000 };

/** @param attempt the attempt that just failed, from 1. @param random a number in [0, 1). */
export function retryDelayMs(attempt: number, random: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  const half = exp / 2;
  return Math.round(half + random * half);
}
