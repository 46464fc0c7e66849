/**
 * `git_clean`: the worktree has no uncommitted change and no untracked file that git does not
 * ignore (`git status --porcelain` prints nothing).
 */
import { runProcess } from '../executors/run-process.js';
import type { CheckResult, ResolvedCheckContext } from './types.js';

export async function checkGitClean(ctx: ResolvedCheckContext): Promise<CheckResult> {
  const started = Date.now();
  const p = await runProcess({
    file: ctx.git,
    args: ['status', '--porcelain'],
    cwd: ctx.cwd,
    env: { ...ctx.env, GIT_OPTIONAL_LOCKS: '0' }, // a status must not take the index lock from a running git
    timeoutMs: Math.min(ctx.timeoutMs, 60_000),
    signal: ctx.signal,
    tailBytes: ctx.tailBytes,
  });
  const duration_ms = Date.now() - started;
  if (p.exitCode !== 0) {
    const why = p.spawnError ? `git could not be started: ${p.spawnError.message}` : `git status failed: ${p.output.trim()}`;
    return { type: 'git_clean', passed: false, duration_ms, output_tail: why, exit_code: p.exitCode };
  }
  const changes = p.output.trim();
  return {
    type: 'git_clean',
    passed: changes === '',
    duration_ms,
    output_tail: changes === '' ? 'working tree clean' : `uncommitted changes:\n${changes}`,
    exit_code: 0,
  };
}
