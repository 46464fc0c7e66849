/**
 * Normalising a spec into a task record: every default, and the complexity heuristic (given or
 * inferred, always with a reason).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskSpec } from '../../shared/task.js';
import { inferComplexity } from '../../hub/queue/complexity.js';
import { DEFAULT_TASK_DEFAULTS, newTaskRecord, planBatch } from '../../hub/queue/normalize.js';
import { openTestStore, spec, type TestStore } from '../support/queue-store.js';

describe('defaults', () => {
  let h: TestStore;
  beforeAll(async () => {
    h = await openTestStore();
  });
  afterAll(async () => {
    await h.dispose();
  });

  it('a spec with only a title gets every documented default', async () => {
    const { task } = await h.store.create({ title: 'Fix the login bug' }, 'client:cli');
    expect(task).toEqual({
      id: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/),
      title: 'Fix the login bug',
      description: '',
      context: {},
      success_criteria: [],
      verification: [],
      complexity: 'standard',
      complexity_reason: 'default',
      capabilities: [],
      repo: null,
      lane: 'normal',
      depends_on: [],
      idempotency_key: null,
      max_attempts: 3,
      timeouts: { start_ms: 60_000, lease_ms: 60_000, overall_ms: 3_600_000 },
      run_at: null,
      review: false,
      executor: null,
      command: null,
      model: null,
      agent: null,
      delegate: null,
      dependant_count: 0,
      event_ids: [expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/)],
      created_by: 'client:cli',
      metadata: {},
      status: 'queued',
      generation: 0,
      attempts: 0,
      lease: null,
      created_at: h.clock.t,
      updated_at: h.clock.t,
      queued_at: h.clock.t,
      next_run_at: null,
      last_error: null,
      result: null,
    });
  });

  it('keeps what the spec gives; timeouts merge field by field; capabilities are sorted', async () => {
    const full: TaskSpec = {
      title: 'Port the parser',
      description: 'Port it to the new grammar.',
      context: { files: ['src/parser.ts'], notes: 'see issue 12', links: ['https://example.invalid/12'] },
      success_criteria: ['all tests pass'],
      verification: [{ type: 'test_passes' }, { type: 'file_exists', path: 'src/parser.ts' }],
      complexity: 'complex',
      capabilities: ['typescript', 'node'],
      repo: 'compiler',
      lane: 'high',
      idempotency_key: 'port-parser',
      max_attempts: 5,
      timeouts: { lease_ms: 120_000 },
      run_at: h.clock.t - 1,
      review: true,
      executor: 'claude',
      model: 'sonnet',
      agent: 'box-1',
      created_by: 'alice',
      metadata: { ticket: 12 },
    };
    const { task } = await h.store.create(full, 'client:cli');
    expect(task).toMatchObject({
      ...full,
      capabilities: ['node', 'typescript'],
      complexity_reason: 'given',
      timeouts: { start_ms: 60_000, lease_ms: 120_000, overall_ms: 3_600_000 },
      delegate: 'box-1',
      command: null,
      created_by: 'alice',
    });
    expect(task).not.toHaveProperty('ref');
  });

  it('store-wide defaults come from the options', () => {
    const t = newTaskRecord({ title: 't' }, 'id', [], 'me', 5, { maxAttempts: 7, timeouts: { start_ms: 1, lease_ms: 2, overall_ms: 3 } });
    expect(t).toMatchObject({ max_attempts: 7, timeouts: { start_ms: 1, lease_ms: 2, overall_ms: 3 }, created_at: 5, status: 'pending' });
    expect(DEFAULT_TASK_DEFAULTS).toEqual({ maxAttempts: 3, timeouts: { start_ms: 60_000, lease_ms: 60_000, overall_ms: 3_600_000 } });
  });
});

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

  it('the stored task carries the complexity and the reason', async () => {
    const h = await openTestStore();
    try {
      const { task } = await h.store.create(spec('Fix a typo'), 'c');
      expect([task.complexity, task.complexity_reason]).toEqual(['trivial', "keyword 'typo', small scope"]);
    } finally {
      await h.dispose();
    }
  });
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
