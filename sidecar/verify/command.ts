/**
 * Command checks: `test_passes` (the step's command, else the repo's test command) and
 * `command_succeeds`. Both pass on exit status 0, run with `/bin/sh -c` in the worktree, as
 * their own process group (a test runner's workers die with it), bounded in time and output.
 */
import { runProcess } from '../executors/run-process.js';
import type { CheckResult, ResolvedCheckContext } from './types.js';

export async function checkCommand(
  type: 'test_passes' | 'command_succeeds',
  command: string | null | undefined,
  timeoutMs: number | undefined,
  ctx: ResolvedCheckContext,
): Promise<CheckResult> {
  const started = Date.now();
  if (!command) {
    // A test_passes step without a command on a repo without a test command cannot pass:
    // passing it would report work as tested that nothing tested.
    const output_tail = 'no test command: the step names none and the repo has none configured';
    return { type, passed: false, duration_ms: 0, output_tail, exit_code: null };
  }
  const limit = timeoutMs ?? ctx.timeoutMs;
  const p = await runProcess({
    file: '/bin/sh',
    args: ['-c', command],
    cwd: ctx.cwd,
    env: ctx.env,
    timeoutMs: limit,
    signal: ctx.signal,
    killGraceMs: ctx.killGraceMs,
    tailBytes: ctx.tailBytes,
  });
  let note = '';
  if (p.spawnError) note = `\n[could not start: ${p.spawnError.message}]`;
  else if (p.timedOut) note = `\n[timed out after ${limit} ms]`;
  else if (p.cancelled) note = '\n[cancelled]';
  else if (p.exitCode !== 0) note = `\n[exit ${p.exitCode ?? p.exitSignal}]`;
  return {
    type,
    passed: p.exitCode === 0 && !p.timedOut && !p.cancelled,
    duration_ms: Date.now() - started,
    output_tail: p.output + note,
    target: command,
    exit_code: p.exitCode,
  };
}
