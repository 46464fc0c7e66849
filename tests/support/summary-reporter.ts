import type { Reporter, TestModule } from 'vitest/node';

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

const line = (t: Tally) => `${t.passed} passed, ${t.failed} failed${t.skipped > 0 ? `, ${t.skipped} skipped` : ''}`;

/**
 * Prints one plain closing line, `N passed, N failed` (and `, N skipped` when any were skipped),
 * after vitest's own summary, preceded by the same per project (the conformance suite runs once
 * per task store backend). CI reads the closing line to tell a run that executed no test from a
 * green one; a module that failed to load or whose hooks failed counts as a failure so it cannot hide.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const total: Tally = { passed: 0, failed: 0, skipped: 0 };
    const byProject = new Map<string, Tally>();
    for (const mod of modules) {
      const name = mod.project.name;
      let tally = byProject.get(name);
      if (!tally) byProject.set(name, (tally = { passed: 0, failed: 0, skipped: 0 }));
      // A module that failed (to load, or in a beforeAll hook) leaves its tests unrun, which
      // vitest reports as skipped: they count as failed, so the closing line cannot read green.
      const modFailed = mod.state() === 'failed';
      let sawTest = false;
      for (const test of mod.children.allTests()) {
        sawTest = true;
        const state = test.result().state;
        const key = state === 'passed' ? 'passed' : state === 'failed' || modFailed ? 'failed' : 'skipped';
        tally[key]++;
        total[key]++;
      }
      if (!sawTest && modFailed) {
        tally.failed++;
        total.failed++;
      }
    }
    total.failed += unhandledErrors.length;
    if (byProject.size > 1) {
      process.stdout.write('\n');
      for (const [name, tally] of [...byProject].sort(([a], [b]) => a.localeCompare(b))) process.stdout.write(`  ${name}: ${line(tally)}\n`);
    }
    process.stdout.write(`\n${line(total)}\n`);
  }
}
