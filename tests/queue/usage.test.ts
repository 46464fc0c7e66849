/**
 * Usage (docs/usage.md) in the store, on every backend: a run's reported tokens and cost are
 * summed on the task over its attempts and charged to the day × repo × executor × model cell in
 * the same change; a stale result charges nothing; the cells survive a reopen; nonsense in a
 * report is ignored.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UsageCell } from '../../hub/store/usage-cells.js';
import { A0, expectCode, leaseAndAccept, openTestStore, spec, type TestStore } from '../support/queue-store.js';

let h: TestStore;
beforeEach(async () => {
  h = await openTestStore();
});
afterEach(async () => {
  await h.dispose();
});

const sorted = (cells: Iterable<UsageCell>): UsageCell[] => [...cells].map((c) => ({ ...c })).sort((a, b) => `${a.day}${a.repo}${a.executor}${a.model}`.localeCompare(`${b.day}${b.repo}${b.executor}${b.model}`));

describe('usage on the task and in the cells', () => {
  it('sums a failed attempt and the completing one on the task, and charges each to its cell', async () => {
    await h.store.create(spec('t', { repo: 'web', executor: 'claude', model: 'sonnet', max_attempts: 3 }), 'test');
    const first = await leaseAndAccept(h.store, A0);
    const failed = await h.store.fail(first.id, first.generation, 'a0', {
      code: 'EXEC_FAILED',
      message: 'boom',
      retryable: true,
      details: { result: { executor: 'claude', usage: { input_tokens: 100, output_tokens: 20, cost_usd: 0.5, wall_ms: 9 } } },
    });
    expect(failed.usage).toEqual({ input_tokens: 100, output_tokens: 20, cost_usd: 0.5, runs: 1, by_model: { 'claude/sonnet': { input_tokens: 100, output_tokens: 20, cost_usd: 0.5, runs: 1 } } });
    h.clock.advance(24 * 3600_000); // the next UTC day: the second run is another day's cell
    await h.store.sweep();
    const second = await leaseAndAccept(h.store, A0);
    const done = await h.store.complete(second.id, second.generation, 'a0', { executor: 'claude', usage: { input_tokens: 1000, output_tokens: 200, cost_usd: 1.25 } });
    expect(done.status).toBe('completed');
    expect(done.usage).toMatchObject({ input_tokens: 1100, output_tokens: 220, cost_usd: 1.75, runs: 2 });
    expect((await h.store.get(done.id))!.usage).toEqual(done.usage);
    const day1 = new Date(h.clock.t - 24 * 3600_000).toISOString().slice(0, 10);
    const day2 = new Date(h.clock.t).toISOString().slice(0, 10);
    expect(sorted(h.store.usageCells())).toEqual([
      { day: day1, repo: 'web', executor: 'claude', model: 'sonnet', input_tokens: 100, output_tokens: 20, cost_usd: 0.5, runs: 1 },
      { day: day2, repo: 'web', executor: 'claude', model: 'sonnet', input_tokens: 1000, output_tokens: 200, cost_usd: 1.25, runs: 1 },
    ]);
    expect(h.store.usageOfRepo('web', day2)).toEqual({ input_tokens: 1000, output_tokens: 200, cost_usd: 1.25, runs: 1 });
    expect(h.store.usageOfRepo('other', day2).runs).toBe(0);
  });

  it('adds tasks of one repo, executor and model into one cell; other repos and models get their own', async () => {
    const runs: Array<[string | undefined, string, number]> = [['web', 'qwen', 10], ['web', 'qwen', 5], ['api', 'qwen', 7], [undefined, 'llama', 3]];
    for (const [repo, model, tokens] of runs) {
      await h.store.create(spec(`t-${tokens}`, { ...(repo ? { repo } : {}), executor: 'ollama', model }), 'test');
      const t = await leaseAndAccept(h.store, A0);
      await h.store.complete(t.id, t.generation, 'a0', { usage: { input_tokens: tokens, output_tokens: 1, cost_usd: 0 } });
    }
    const cells = sorted(h.store.usageCells()).map((c) => [c.repo, c.executor, c.model, c.input_tokens, c.runs]);
    expect(cells).toEqual([
      ['-', 'ollama', 'llama', 3, 1],
      ['api', 'ollama', 'qwen', 7, 1],
      ['web', 'ollama', 'qwen', 15, 2],
    ]);
  });

  it('a result resent after its commit meets STALE_GENERATION and charges nothing', async () => {
    await h.store.create(spec('t', { repo: 'web', executor: 'claude' }), 'test');
    const t = await leaseAndAccept(h.store, A0);
    const result = { usage: { input_tokens: 10, output_tokens: 10, cost_usd: 2 } };
    await h.store.complete(t.id, t.generation, 'a0', result);
    const before = sorted(h.store.usageCells());
    await expectCode(h.store.complete(t.id, t.generation, 'a0', result), 'STALE_GENERATION');
    await expectCode(h.store.fail(t.id, t.generation, 'a0', { code: 'X', message: 'x', retryable: true, details: { result } }), 'STALE_GENERATION');
    expect(sorted(h.store.usageCells())).toEqual(before);
    expect((await h.store.get(t.id))!.usage!.cost_usd).toBe(2);
    expect(before).toHaveLength(1);
    expect(before[0]!.model).toBe('-');
  });

  it('keeps the cells across a reopen (read back from the u! keys)', async () => {
    await h.store.create(spec('t', { repo: 'web', executor: 'claude', model: 'opus' }), 'test');
    const t = await leaseAndAccept(h.store, A0);
    await h.store.complete(t.id, t.generation, 'a0', { usage: { input_tokens: 3, output_tokens: 4, cost_usd: 0.25 } });
    const before = sorted(h.store.usageCells());
    const reopened = await h.reopen();
    expect(sorted(reopened.usageCells())).toEqual(before);
    expect((await reopened.verifyIntegrity()).ok).toBe(true);
  });

  it('ignores what is not a finite non-negative number, and a result without usage charges nothing', async () => {
    await h.store.create(spec('a', { repo: 'web', executor: 'ollama' }), 'test');
    await h.store.create(spec('b', { repo: 'web', executor: 'ollama' }), 'test');
    const a = await leaseAndAccept(h.store, A0);
    const doneA = await h.store.complete(a.id, a.generation, 'a0', { usage: { input_tokens: -5, output_tokens: 'many', cost_usd: Number.NaN } });
    expect(doneA.usage).toMatchObject({ input_tokens: 0, output_tokens: 0, cost_usd: 0, runs: 1 });
    const b = await leaseAndAccept(h.store, A0);
    const doneB = await h.store.complete(b.id, b.generation, 'a0', { output: 'no usage here' });
    expect(doneB.usage).toBeUndefined();
    expect(sorted(h.store.usageCells()).map((c) => c.runs)).toEqual([1]);
  });
});
