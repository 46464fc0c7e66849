/**
 * Normalising a spec into a task record as the store does it: every default, and the complexity
 * the stored task carries (the heuristic and batch planning alone: tests/rules/normalize.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskSpec } from '../../shared/task.js';
import { DEFAULT_TASK_DEFAULTS, newTaskRecord } from '../../hub/queue/normalize.js';
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
      // The supervision gate's decision (docs/workflow.md): a plain task is dispatched at once.
      supervision: { mode: 'auto', risk: 'low', reason: 'low risk, complexity standard', decided_by: 'gate' },
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
