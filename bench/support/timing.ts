/**
 * Timing for benches: a monotonic clock and a closed-loop load generator. Timings live in
 * bench/ only; tests never assert on them.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Milliseconds on a monotonic clock. */
export const clock = (): number => performance.now();

/**
 * CPU time of the main JavaScript thread, in ms. The store's serial path runs on that thread, so
 * CPU per operation says what a quiet machine could do even when the bench shares a busy one.
 * On Linux it reads the thread's own counters (10 ms ticks; USER_HZ is 100); elsewhere it falls
 * back to the whole process, which also counts LevelDB's background threads.
 */
export function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after "(comm) ": state is the first; utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
}

export interface Measured {
  /** Operations that completed (each awaited to its end). */
  count: number;
  /** From the start until the last worker finished its last operation. */
  elapsedMs: number;
  /** count / elapsed, per second. */
  perSecond: number;
  /** Main-thread CPU time per operation, in microseconds (see mainThreadCpuMs). */
  cpuUsPerOp: number;
}

/**
 * Closed loop: `workers` loops each run `op` again as soon as the previous one resolves, until
 * `durationMs` has passed. Operations in flight at the deadline are awaited and counted, and the
 * clock stops when the last one ends, so the rate is exact for the work done.
 */
export async function runFor(workers: number, durationMs: number, op: (worker: number) => Promise<void>): Promise<Measured> {
  const start = clock();
  const cpuStart = mainThreadCpuMs();
  const deadline = start + durationMs;
  let count = 0;
  const loop = async (w: number): Promise<void> => {
    while (clock() < deadline) {
      await op(w);
      count++;
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => loop(w)));
  const elapsedMs = clock() - start;
  const cpuMs = mainThreadCpuMs() - cpuStart;
  return { count, elapsedMs, perSecond: (count * 1000) / elapsedMs, cpuUsPerOp: count > 0 ? (cpuMs * 1000) / count : 0 };
}

/** Times one async step. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = clock();
  const value = await fn();
  return { value, ms: clock() - start };
}

/** Runs a full garbage collection when node runs with --expose-gc, so phases start clean. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
