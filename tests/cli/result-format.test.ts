/**
 * `switchyard task show` prints a coding run's result as fields (cli/result-format.ts): the
 * result here is built by the sidecar's own outcomeOf, so the CLI follows the shape it really gets.
 */
import { describe, expect, it } from 'vitest';
import { resultLines } from '../../cli/result-format.js';
import { outcomeOf } from '../../sidecar/task-runner.js';

const report = (passed: boolean) => ({
  passed,
  duration_ms: 2_340,
  checks: [
    { type: 'file_exists' as const, passed: true, duration_ms: 1, output_tail: '', target: 'sum.mjs' },
    { type: 'test_passes' as const, passed, duration_ms: 2_300, output_tail: passed ? 'ok 3 tests' : 'line 1\nnot ok 2 - sum(2, 2) is 4\n# fail 1', target: 'node test.mjs', exit_code: passed ? 0 : 1 },
  ],
});
const usage = { input_tokens: 12_345, output_tokens: 678, cost_usd: 0.04321, wall_ms: 45_200, cache_read_input_tokens: 9_000 };
const iteration = (n: number, passed: boolean) => ({ n, executor: { ok: true, exit_code: 0, output_tail: `iteration ${n}` }, verification: report(passed), usage });

describe('task show: the result as fields', () => {
  it('shows branch, link, usage, verification and the output of a passing coding run, whatever their size', () => {
    const { result } = outcomeOf('claude', 'task/01J9-add-sum', {
      ok: true,
      iterations: [iteration(1, false), iteration(2, true)],
      verification: report(true),
      usage,
      submission: { branch: 'task/01J9-add-sum', commit: 'abcdef0123456789', changed: true, files_changed: ['sum.mjs'], pushed: true, pr_url: 'https://github.com/acme/calc/pull/7', url: 'https://github.com/acme/calc/pull/7' },
    });
    const text = resultLines(result).join('\n');
    expect(JSON.stringify(result).length).toBeGreaterThan(500); // what the old 500-character cut hid
    expect(text).toMatch(/^ {2}run {10}executor claude {3}exit code 0 {3}iterations 2$/m);
    expect(text).toMatch(/^ {2}branch {7}task\/01J9-add-sum {3}commit abcdef012345 {3}pushed$/m);
    expect(text).toMatch(/^ {2}pull request https:\/\/github.com\/acme\/calc\/pull\/7$/m);
    expect(text).toMatch(/^ {2}usage {8}12,345 in \/ 678 out tokens \(cache 0 written, 9,000 read\), \$0\.0432, 45\.2 s$/m);
    expect(text).toMatch(/^ {2}verification passed \(2 checks, 2\.3 s\)$/m);
    expect(text).toMatch(/^ {4}ok {3}test_passes node test\.mjs \(exit 0\)$/m);
    expect(text).toContain('iteration 2');
  });

  it("shows a failed run's report with the failing check's output", () => {
    const { result } = outcomeOf('ollama', 'task/01J9-add-sum', {
      ok: false,
      iterations: [iteration(1, false)],
      verification: report(false),
      usage,
      submission: null,
      failure: { code: 'EXEC_VERIFICATION_FAILED', message: 'the work did not pass', retryable: true },
    });
    const text = resultLines(result, "last attempt's result").join('\n');
    expect(text).toMatch(/^last attempt's result:$/m);
    expect(text).toMatch(/^ {2}verification FAILED \(2 checks, 2\.3 s\)$/m);
    expect(text).toMatch(/^ {4}FAIL test_passes node test\.mjs \(exit 1\)$/m);
    expect(text).toMatch(/^ +not ok 2 - sum\(2, 2\) is 4$/m);
    expect(text).toMatch(/^ {2}branch {7}task\/01J9-add-sum$/m);
  });

  it('prints a result of another shape as JSON, cut, and nothing for none', () => {
    expect(resultLines({ answer: 42 })).toEqual(['result {"answer":42}']);
    expect(resultLines('x'.repeat(600))[0]).toMatch(/… \(--json shows all of it\)$/);
    expect(resultLines(null)).toEqual([]);
    expect(resultLines({ executor: 'shell', output_tail: 'hi\n', exit_code: 0, extra: 1 }).join('\n')).toMatch(/also {9}extra \(--json shows them\)/);
  });
});
