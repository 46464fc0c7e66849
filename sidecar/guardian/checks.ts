/**
 * The guardians' mechanical checks (docs/workflow.md, "Guardian chains"), run by the sidecar in
 * the guardian's worktree — the implementation's commit — before its model is asked:
 *
 *   security  secret_scan over the lines the change adds; npm_audit (the repo's audit_command, or
 *             `npm audit --json` where there is a package-lock.json)
 *   qa        tests: the repo's test command
 *   docs      public_docs: names the change newly exports are described somewhere
 *   ux        axe: the pages the change touches, scanned in Chromium
 *
 * A check that ran and failed rejects the work with its findings, without a model run (the facts
 * are in); checks that passed or could not run are put in the guardian's prompt, for its model to
 * weigh. Each check says what it did, so "not run" is never mistaken for "passed".
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding, GuardianRole, Verdict } from '../../shared/workflow.js';
import { WORKFLOW_LIMITS } from '../../shared/workflow.js';
import { runProcess } from '../executors/run-process.js';
import { checkCommand } from '../verify/command.js';
import { resolveContext } from '../verify/types.js';
import { Git } from '../workspace/git.js';
import { changedPages, scanPages } from './axe.js';
import { readChange, type Change } from './diff.js';
import { readAudit } from './npm-audit.js';
import { markdownText, undocumented } from './public-docs.js';
import { scanSecrets } from './secret-scan.js';

export type GuardianCheckName = 'secret_scan' | 'npm_audit' | 'tests' | 'public_docs' | 'axe';

export interface GuardianCheck {
  name: GuardianCheckName;
  /** False when the check could not run here (no diff base, no test command, no browser…). */
  ran: boolean;
  /** True when it ran and found nothing that rejects (also true when it did not run). */
  passed: boolean;
  /** One line: what it did and found, or why it did not run. */
  summary: string;
  findings: Finding[];
  duration_ms: number;
}

export interface GuardianCheckContext {
  cwd: string;
  /** The default branch's tip the change is compared with; null when the guarded work is not here. */
  diffBase: string | null;
  testCommand: string | null;
  auditCommand: string | null;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Limit of each command the checks run. @defaultValue 600000 */
  timeoutMs?: number;
}

/** The output npm audit's report may take; a bigger one is not a report we can read. */
const AUDIT_BYTES = 8 * 1024 * 1024;

export async function runGuardianChecks(role: GuardianRole, ctx: GuardianCheckContext): Promise<GuardianCheck[]> {
  const git = new Git({ bin: 'git', env: ctx.env, timeoutMs: 60_000 });
  const change = ctx.diffBase ? await readChange(git, ctx.cwd, ctx.diffBase).catch(() => null) : null;
  const noChange = (name: GuardianCheckName): GuardianCheck =>
    notRun(name, ctx.diffBase ? 'git could not read the change' : 'the implementation’s commit is not on this host, so there is no change to check');
  switch (role) {
    case 'security':
      return [change ? timed('secret_scan', () => secretScan(change)) : noChange('secret_scan'), await audit(ctx)];
    case 'qa':
      return [await tests(ctx)];
    case 'docs':
      return [change ? await docs(ctx.cwd, change) : noChange('public_docs')];
    case 'ux':
      return [change ? await axe(ctx, change) : noChange('axe')];
  }
}

/** The verdict the checks force: REJECT with their findings when one that ran failed; else none. */
export function forcedVerdict(checks: readonly GuardianCheck[]): Verdict | null {
  const failed = checks.filter((c) => c.ran && !c.passed);
  if (failed.length === 0) return null;
  const findings = failed.flatMap((c) => c.findings).slice(0, WORKFLOW_LIMITS.findings);
  return { verdict: 'REJECT', summary: failed.map((c) => `${c.name}: ${c.summary}`).join('\n').slice(0, WORKFLOW_LIMITS.textChars), findings };
}

/** The checks as the guardian's prompt shows them. */
export function describeChecks(checks: readonly GuardianCheck[]): string {
  if (checks.length === 0) return '';
  const lines = checks.map((c) => `- ${c.name}: ${c.ran ? (c.passed ? 'passed' : 'FAILED') : 'not run'} — ${c.summary}`);
  return `Mechanical checks the sidecar already ran on this change (do not repeat them; weigh them):\n${lines.join('\n')}`;
}

function notRun(name: GuardianCheckName, why: string): GuardianCheck {
  return { name, ran: false, passed: true, summary: why, findings: [], duration_ms: 0 };
}

function result(name: GuardianCheckName, started: number, findings: Finding[], rejects: (f: Finding) => boolean, clean: string, found: string): GuardianCheck {
  const failed = findings.some(rejects);
  return { name, ran: true, passed: !failed, summary: findings.length === 0 ? clean : found, findings, duration_ms: Date.now() - started };
}

function timed(name: GuardianCheckName, fn: () => Omit<GuardianCheck, 'duration_ms' | 'name'>): GuardianCheck {
  const started = Date.now();
  return { name, ...fn(), duration_ms: Date.now() - started };
}

function secretScan(change: Change): Omit<GuardianCheck, 'duration_ms' | 'name'> {
  const findings = scanSecrets(change);
  return {
    ran: true,
    passed: findings.length === 0,
    summary: findings.length === 0 ? `no secret in the ${change.added.length} added line(s) of ${change.files.length} file(s)` : `${findings.length} secret(s) in the change`,
    findings,
  };
}

async function audit(ctx: GuardianCheckContext): Promise<GuardianCheck> {
  const started = Date.now();
  const command = ctx.auditCommand ?? (existsSync(join(ctx.cwd, 'package-lock.json')) ? 'npm audit --json' : null);
  if (!command) return notRun('npm_audit', 'no package-lock.json and no audit_command for this repo');
  // stdout only: npm's warnings on stderr would break the JSON.
  const p = await runProcess({ file: '/bin/sh', args: ['-c', `${command} 2>/dev/null`], cwd: ctx.cwd, env: ctx.env, timeoutMs: ctx.timeoutMs ?? 600_000, tailBytes: AUDIT_BYTES, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  if (p.spawnError || p.timedOut || p.cancelled) return { ...notRun('npm_audit', `\`${command}\` did not finish (${p.spawnError?.message ?? (p.timedOut ? 'timed out' : 'cancelled')})`), duration_ms: Date.now() - started };
  const reading = readAudit(p.output);
  if (!reading.ok) return { ...notRun('npm_audit', `\`${command}\`: ${reading.reason}`), duration_ms: Date.now() - started };
  const counts = Object.entries(reading.counts).filter(([k, n]) => k !== 'total' && n > 0).map(([k, n]) => `${n} ${k}`);
  return result('npm_audit', started, reading.findings, (f) => f.severity === 'high' || f.severity === 'critical', `\`${command}\`: no known vulnerability`, `\`${command}\`: ${counts.join(', ') || `${reading.findings.length} advisory(ies)`}`);
}

async function tests(ctx: GuardianCheckContext): Promise<GuardianCheck> {
  if (!ctx.testCommand) return notRun('tests', 'this repo has no test command on this host (test_command in the sidecar config)');
  const r = await checkCommand('test_passes', ctx.testCommand, ctx.timeoutMs, resolveContext({ cwd: ctx.cwd, env: ctx.env, ...(ctx.signal ? { signal: ctx.signal } : {}) }));
  const tail = r.output_tail.trim().split('\n').slice(-20).join('\n');
  return {
    name: 'tests',
    ran: true,
    passed: r.passed,
    summary: r.passed ? `\`${ctx.testCommand}\` passed` : `\`${ctx.testCommand}\` failed (exit ${r.exit_code ?? 'none'})`,
    findings: r.passed ? [] : [{ message: `the tests fail on this change:\n${tail}`.slice(0, WORKFLOW_LIMITS.textChars), severity: 'high' }],
    duration_ms: r.duration_ms,
  };
}

async function docs(cwd: string, change: Change): Promise<GuardianCheck> {
  const started = Date.now();
  const findings = undocumented(change, await markdownText(cwd));
  return result('public_docs', started, findings, () => true, 'every name the change exports is described', `${findings.length} newly exported name(s) not described`);
}

async function axe(ctx: GuardianCheckContext, change: Change): Promise<GuardianCheck> {
  const started = Date.now();
  const pages = changedPages(change.files);
  if (pages.length === 0) return notRun('axe', 'the change touches no HTML page');
  const reading = await scanPages(ctx.cwd, pages, ctx.signal).catch((err: Error) => ({ ok: false as const, reason: `the browser failed: ${err.message}` }));
  if (!reading.ok) return { ...notRun('axe', reading.reason), duration_ms: Date.now() - started };
  return result('axe', started, reading.findings, () => true, `axe-core found nothing serious on ${reading.pages} page(s)`, `axe-core: ${reading.findings.length} serious or critical violation(s)`);
}
