/** Shared helpers of the sidecar-work tests: temp folders, process liveness, request builders. */
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutorProgress, ExecutorRequest } from '../../sidecar/executors/executor.js';

/** A fresh temp folder (its real path), removed by the returned cleanup. */
export async function tempDir(prefix = 'sy-work-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), prefix)));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * True when no process with this pid runs any more. A zombie counts as gone: it runs no code and
 * holds nothing but its pid entry, and some init processes (this CI's among them) never reap.
 */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

/** A request with a collecting onProgress; override any field. */
export function request(over: Partial<ExecutorRequest> & { cwd: string }): {
  req: ExecutorRequest;
  progress: ExecutorProgress[];
} {
  const progress: ExecutorProgress[] = [];
  const req: ExecutorRequest = {
    taskId: 't1',
    timeoutMs: 30_000,
    signal: new AbortController().signal,
    onProgress: (p) => progress.push(p),
    ...over,
  };
  return { req, progress };
}

/** Text of all progress pieces of the given streams, joined. */
export function progressText(progress: ExecutorProgress[], ...streams: ExecutorProgress['stream'][]): string {
  return progress
    .filter((p) => streams.length === 0 || streams.includes(p.stream))
    .map((p) => p.data)
    .join('');
}

/** Resolves once `predicate` holds, polling; fails after `ms` (a guard, not a timing assertion). */
export async function waitFor(predicate: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Resolves once the process is gone. A killed process closes its pipes a moment before the
 * kernel finishes its exit, so "gone" is awaited briefly rather than sampled once; a process the
 * code under test failed to kill lives on (for 30 s and more in these tests) and fails this.
 */
export async function waitGone(pid: number | undefined, ms = 5_000): Promise<void> {
  if (pid === undefined || !(pid > 0)) throw new Error(`no pid to watch: ${String(pid)}`);
  await waitFor(() => processGone(pid), ms, `process ${pid} to be gone`);
}
