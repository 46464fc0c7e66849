import { describe, expect, it } from 'vitest';
import type { LoopTask } from '../../sidecar/loop/build-verify-fix.js';
import { buildCorrectivePrompt, buildTaskPrompt } from '../../sidecar/loop/prompt.js';
import { makeTask } from '../fixtures/calc-repo.js';

describe('prompts', () => {
  it('the task prompt names the title, description, context, criteria and checks', () => {
    const p = buildTaskPrompt(
      makeTask({
        context: { files: ['src/a.ts'], notes: 'Keep the API stable.', links: ['https://example.invalid/issue/1'] },
        verification: [{ type: 'test_passes', command: 'npm test' }, { type: 'command_succeeds', command: 'npm run lint' }, { type: 'git_clean' }],
      }),
    );
    for (const part of ['# Task: Add a sum function', 'Create sum.mjs', '- src/a.ts', 'Keep the API stable.', 'https://example.invalid/issue/1', '- node test.mjs passes', '`npm test` exits 0', '`npm run lint` exits 0', 'nothing is left outside the commit', 'You need not commit']) {
      expect(p).toContain(part);
    }
    expect(buildTaskPrompt(makeTask())).toContain('You need not commit');
  });

  it('the corrective prompt quotes only failing checks, bounded, in fences their output cannot break', () => {
    const report = {
      passed: false,
      duration_ms: 5,
      checks: [
        { type: 'file_exists' as const, passed: true, duration_ms: 1, output_tail: 'sum.mjs exists', target: 'sum.mjs' },
        { type: 'test_passes' as const, passed: false, duration_ms: 1, output_tail: `${'noise\n'.repeat(5000)}\`\`\`\nexpected 5, got 6\n`, target: 'node test.mjs', exit_code: 1 },
      ],
    };
    const p = buildCorrectivePrompt(makeTask(), 1, report, 'my previous answer', null, { checkTailBytes: 200 });
    expect(p).toContain('test_passes: node test.mjs (exit 1)');
    expect(p).toContain('expected 5, got 6');
    expect(p).not.toContain('sum.mjs exists');
    expect(p).toContain('my previous answer');
    expect(p).toContain('````\n'); // a fence longer than the ``` inside
    expect(p.length).toBeLessThan(2000);
  });
});
