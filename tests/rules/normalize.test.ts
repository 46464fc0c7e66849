/**
 * Normalising without a store: the complexity heuristic (given or inferred, always with a reason)
 * and batch planning. Defaults as the store fills them in: tests/queue/normalize.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { TaskSpec } from '../../shared/task.js';
import { inferComplexity } from '../../hub/queue/complexity.js';
import { planBatch } from '../../hub/queue/normalize.js';

describe('the complexity heuristic', () => {
  const cases: Array<[string, TaskSpec, string, string]> = [
    ['given wins over everything', { title: 'refactor the world', complexity: 'trivial' }, 'trivial', 'given'],
    ['a shell command is trivial', { title: 'redesign the architecture', executor: 'shell', command: 'make' }, 'trivial', 'shell command'],
    ['more than 5 context files', { title: 'fix', context: { files: ['a', 'b', 'c', 'd', 'e', 'f'] } }, 'complex', '6 context files (> 5)'],
    ['5 context files are not enough', { title: 'fix it', context: { files: ['a', 'b', 'c', 'd', 'e'] } }, 'standard', 'default'],
    ['a long description', { title: 'fix', description: 'x'.repeat(2001) }, 'complex', 'description of 2001 chars (> 2000)'],
    ['more than 3 verification steps', { title: 'fix', verification: [{ type: 'git_clean' }, { type: 'git_clean' }, { type: 'git_clean' }, { type: 'git_clean' }] }, 'complex', '4 verification steps (> 3)'],
    ['a complex keyword in the title', { title: 'Refactor the session store' }, 'complex', "keyword 'refactor'"],
    ['a complex keyword in the description', { title: 'sessions', description: 'Migrate them to Redis' }, 'complex', "keyword 'migrate'"],
    ['concurrency', { title: 'Fix a concurrency bug' }, 'complex', "keyword 'concurrency'"],
    ['a trivial keyword, small scope', { title: 'Fix a typo in the README' }, 'trivial', "keyword 'typo', small scope"],
    ['bump', { title: 'Bump lodash' }, 'trivial', "keyword 'bump', small scope"],
    ['a trivial keyword with a long description is standard', { title: 'rename', description: 'y'.repeat(200) }, 'standard', 'default'],
    ['a trivial keyword with 2 files is standard', { title: 'rename x', context: { files: ['a', 'b'] } }, 'standard', 'default'],
    ['complex keywords beat trivial ones', { title: 'rename and refactor' }, 'complex', "keyword 'refactor'"],
    ['keywords match whole words only', { title: 'Designate a reviewer' }, 'standard', 'default'],
    ['nothing special', { title: 'Add a logout button' }, 'standard', 'default'],
  ];
  for (const [what, s, complexity, reason] of cases) {
    it(`${what}: ${complexity} (${reason})`, () => {
      expect(inferComplexity(s)).toEqual({ complexity, reason });
    });
  }
});

describe('batch planning', () => {
  it('orders a batch so every task follows the batch tasks it depends on', () => {
    const plan = planBatch([
      { title: 'c', ref: 'c', depends_on: ['b'] },
      { title: 'b', ref: 'b', depends_on: ['a', 'EXISTING'] },
      { title: 'a', ref: 'a' },
    ]);
    expect(plan.map((p) => p.spec.title)).toEqual(['a', 'b', 'c']);
    expect(plan[1]!.deps).toEqual([{ ref: 'a' }, { id: 'EXISTING' }]);
    expect(plan.map((p) => p.index)).toEqual([2, 1, 0]);
  });
});
