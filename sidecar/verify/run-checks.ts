/**
 * Runs a task's verification steps one after another and gathers a report. Every step runs even
 * after one failed, so that a corrective prompt can name all that is wrong at once; only a cancel
 * stops the run, and the steps it did not reach are reported as failed.
 */
import type { VerificationStep } from '../../shared/task.js';
import { checkCommand } from './command.js';
import { checkFileExists } from './file-exists.js';
import { checkGitClean } from './git-clean.js';
import { resolveContext, type CheckContext, type CheckResult, type ResolvedCheckContext, type VerificationReport } from './types.js';

export async function runChecks(steps: readonly VerificationStep[], context: CheckContext): Promise<VerificationReport> {
  const ctx = resolveContext(context);
  const started = Date.now();
  const checks: CheckResult[] = [];
  for (const step of steps) {
    if (ctx.signal?.aborted) {
      checks.push({ type: step.type, passed: false, duration_ms: 0, output_tail: 'not run: cancelled' });
      continue;
    }
    checks.push(await runCheck(step, ctx));
  }
  return { passed: checks.every((c) => c.passed), checks, duration_ms: Date.now() - started };
}

/** Runs one step. */
export async function runCheck(step: VerificationStep, context: CheckContext | ResolvedCheckContext): Promise<CheckResult> {
  const ctx = resolveContext(context);
  switch (step.type) {
    case 'file_exists':
      return checkFileExists(step.path, ctx);
    case 'test_passes':
      return checkCommand('test_passes', step.command ?? ctx.testCommand, step.timeout_ms, ctx);
    case 'command_succeeds':
      return checkCommand('command_succeeds', step.command, step.timeout_ms, ctx);
    case 'git_clean':
      return checkGitClean(ctx);
    default: {
      // A step type from a newer hub: fail it rather than skip it, so nothing passes unchecked.
      const type = (step as { type: string }).type;
      return { type: type as CheckResult['type'], passed: false, duration_ms: 0, output_tail: `unknown check type '${type}'` };
    }
  }
}
