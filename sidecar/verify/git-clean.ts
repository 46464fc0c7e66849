/**
 * `git_clean`: nothing is left outside the commit. The sidecar commits the work itself once the
 * checks pass (`git add -A`, which honours `.gitignore` and `.git/info/exclude`, then a commit:
 * workspace/submit.ts), so the check cannot ask for a tree that is clean *before* that commit —
 * real work writes files. It asks instead that every change the work left can go into that
 * commit, so that the tree is clean after it:
 *  - no unmerged path (a conflict left behind);
 *  - no nested repository (an untracked folder with its own `.git`: `git add` would record a
 *    gitlink, not its files);
 *  - `git add -A --dry-run` succeeds (no unreadable file, nothing git refuses).
 * Ignored files (build output, caches, tool scratch files listed in `.gitignore`) are neither
 * committed nor counted. The output lists what the commit will hold.
 */
import { runProcess } from '../executors/run-process.js';
import type { CheckResult, ResolvedCheckContext } from './types.js';

/** The two-letter status codes of an unmerged path (git-status(1), "Short Format"). */
const UNMERGED = new Set(['DD', 'AU', 'UD', 'UA', 'DU', 'AA', 'UU']);

export async function checkGitClean(ctx: ResolvedCheckContext): Promise<CheckResult> {
  const started = Date.now();
  const git = (args: string[]) =>
    runProcess({
      file: ctx.git,
      args,
      cwd: ctx.cwd,
      env: { ...ctx.env, GIT_OPTIONAL_LOCKS: '0' }, // a status must not take the index lock from a running git
      timeoutMs: Math.min(ctx.timeoutMs, 60_000),
      signal: ctx.signal,
      tailBytes: Math.max(ctx.tailBytes, 65_536),
    });
  const fail = (why: string, exit_code: number | null = 0): CheckResult => ({ type: 'git_clean', passed: false, duration_ms: Date.now() - started, output_tail: why, exit_code });
  const p = await git(['status', '--porcelain=v1', '--untracked-files=all']);
  if (p.exitCode !== 0) return fail(p.spawnError ? `git could not be started: ${p.spawnError.message}` : `git status failed: ${p.output.trim()}`, p.exitCode);
  const entries = p.output.split('\n').filter((l) => l.length > 3);
  const conflicts = entries.filter((l) => UNMERGED.has(l.slice(0, 2))).map((l) => l.slice(3));
  const nested = entries.filter((l) => l.startsWith('?? ') && l.endsWith('/')).map((l) => l.slice(3));
  const problems: string[] = [];
  if (conflicts.length) problems.push(`unmerged paths (resolve the conflicts):\n${conflicts.map((c) => `  ${c}`).join('\n')}`);
  if (nested.length) problems.push(`nested repositories (their files cannot be committed; remove their .git or ignore them):\n${nested.map((c) => `  ${c}`).join('\n')}`);
  if (problems.length === 0 && entries.length > 0) {
    const dry = await git(['add', '-A', '--dry-run']);
    if (dry.exitCode !== 0) problems.push(`git add would fail:\n${dry.output.trim()}`);
  }
  if (problems.length) return fail(`changes left outside the commit:\n${problems.join('\n')}`);
  return {
    type: 'git_clean',
    passed: true,
    duration_ms: Date.now() - started,
    output_tail: entries.length === 0 ? 'working tree clean' : `nothing left outside the commit; it will hold:\n${entries.join('\n')}`,
    exit_code: 0,
  };
}
