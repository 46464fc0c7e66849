/**
 * `allowed_paths`: a task that names the files or folders it may change fails verification when
 * its work changed anything else, with the offending paths listed (PATH_NOT_ALLOWED). Run by the
 * loop after the task's own checks whenever the task names `allowed_paths`. What it reads is the
 * worktree's status (modified, added, deleted, renamed — both names — and untracked files that
 * `.gitignore` does not exclude): what the sidecar's commit would hold.
 */
import { runProcess } from '../executors/run-process.js';
import { pathAllowed } from '../executors/workspace-tools.js';
import type { CheckResult, ResolvedCheckContext } from './types.js';

export async function checkAllowedPaths(allowed: readonly string[], ctx: ResolvedCheckContext): Promise<CheckResult> {
  const started = Date.now();
  const p = await runProcess({
    file: ctx.git,
    args: ['status', '--porcelain=v1', '--untracked-files=all', '--no-renames'],
    cwd: ctx.cwd,
    env: { ...ctx.env, GIT_OPTIONAL_LOCKS: '0' },
    timeoutMs: Math.min(ctx.timeoutMs, 60_000),
    signal: ctx.signal,
    tailBytes: Math.max(ctx.tailBytes, 65_536),
  });
  const base = { type: 'allowed_paths' as const, duration_ms: Date.now() - started, target: allowed.join(', ') };
  if (p.exitCode !== 0) return { ...base, passed: false, output_tail: `git status failed: ${p.output.trim()}`, exit_code: p.exitCode };
  const changed = p.output
    .split('\n')
    .filter((l) => l.length > 3)
    .map((l) => unquote(l.slice(3)));
  const outside = changed.filter((f) => !pathAllowed(f, allowed));
  if (outside.length === 0) return { ...base, passed: true, output_tail: `${changed.length} changed path(s), all allowed`, exit_code: 0 };
  return { ...base, passed: false, output_tail: `PATH_NOT_ALLOWED: changed outside the allowed paths (${allowed.join(', ')}):\n${outside.map((f) => `  ${f}`).join('\n')}`, exit_code: 0 };
}

/** git quotes a path with unusual characters ("a\tb"); the C-style escapes come back as JSON's. */
function unquote(path: string): string {
  if (!path.startsWith('"')) return path;
  try {
    return JSON.parse(path) as string;
  } catch {
    return path;
  }
}
