/**
 * The structured evidence a sidecar sends with finished work (docs/workflow.md, "Evidence"): the
 * test command and its result from the last verification, the commit, branch and files changed
 * from the submission, and line coverage when the test output reports it. The hub keeps it on the
 * task (`evidence`), where reviewers, guardians and `task show` read it. Pure.
 */
import type { Evidence } from '../../shared/workflow.js';
import { WORKFLOW_LIMITS } from '../../shared/workflow.js';
import type { SubmitResult } from '../workspace/submit.js';
import type { VerificationReport } from '../verify/types.js';

export function evidenceOf(report: VerificationReport | null, submission: SubmitResult | null): Evidence {
  const evidence: Evidence = {};
  const test = report?.checks.find((c) => c.type === 'test_passes');
  if (test) {
    if (test.target) evidence.test_command = test.target.slice(0, 4096);
    evidence.test_result = test.passed ? 'passed' : 'failed';
    evidence.test_output = test.output_tail.slice(-WORKFLOW_LIMITS.textChars);
    const coverage = coverageIn(test.output_tail);
    if (coverage !== null) evidence.coverage = coverage;
  } else {
    evidence.test_result = 'not_run';
  }
  if (submission) {
    if (/^[0-9a-f]{7,64}$/.test(submission.commit)) evidence.commit = submission.commit;
    evidence.branch = submission.branch.slice(0, 256);
    if (submission.files_changed.length > 0) evidence.files_changed = submission.files_changed.slice(0, 1000);
  }
  return evidence;
}

/**
 * Line coverage in percent from the summaries test runners print: istanbul/nyc/c8/vitest's text
 * table (`All files | 91.3 | …`, whose first number is statements, so `Lines` is preferred when
 * present), their text-summary (`Lines : 85.71% ( 6/7 )`), and pytest-cov / coverage.py's `TOTAL`.
 */
export function coverageIn(output: string): number | null {
  const pct = (s: string | undefined): number | null => {
    const n = s === undefined ? NaN : Number(s);
    return Number.isFinite(n) && n >= 0 && n <= 100 ? n : null;
  };
  const lines = /^\s*Lines\s*:\s*([\d.]+)%/im.exec(output);
  if (lines) return pct(lines[1]);
  // The table: `File | % Stmts | % Branch | % Funcs | % Lines | …`; `All files` carries the totals.
  const header = /^[-\s]*File\s*\|([^\n]*)$/im.exec(output);
  const all = /^\s*All files\s*\|([^\n]*)$/im.exec(output);
  if (all) {
    const cells = all[1]!.split('|').map((c) => c.trim());
    const names = header ? header[1]!.split('|').map((c) => c.trim().toLowerCase()) : [];
    const at = names.findIndex((n) => n.includes('lines'));
    return pct(cells[at >= 0 ? at : 0]);
  }
  const total = /^TOTAL\s+\d+\s+\d+(?:\s+\d+\s+\d+)?\s+([\d.]+)%\s*$/m.exec(output);
  return total ? pct(total[1]) : null;
}
