/**
 * `file_exists`: the path, relative to the worktree, names an existing file or folder inside it.
 * A path that leads outside (`..`, an absolute path elsewhere, a symlink out) fails the check:
 * the task's result lives in the worktree, so only the worktree counts.
 */
import { resolveForRead } from '../executors/safe-path.js';
import { SwitchyardError } from '../../shared/errors.js';
import type { CheckResult, ResolvedCheckContext } from './types.js';

export async function checkFileExists(path: string, ctx: ResolvedCheckContext): Promise<CheckResult> {
  const started = Date.now();
  const done = (passed: boolean, output_tail: string): CheckResult => ({
    type: 'file_exists',
    passed,
    duration_ms: Date.now() - started,
    output_tail,
    target: path,
  });
  try {
    await resolveForRead(ctx.cwd, path);
    return done(true, `${path} exists`);
  } catch (err) {
    if (err instanceof SwitchyardError) return done(false, err.message);
    const code = (err as NodeJS.ErrnoException).code;
    return done(false, code === 'ENOENT' || code === 'ENOTDIR' ? `${path} does not exist` : `${path}: ${(err as Error).message}`);
  }
}
