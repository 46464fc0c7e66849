/**
 * Retries in the store: exponential backoff with jitter, dead-lettering after max_attempts or on a
 * non-retryable error, manual retry, and delayed tasks (run_at). The formula alone:
 * tests/rules/backoff.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../hub/queue/backoff.js';
import { A0, expectCode, leaseAndAccept, openTestStore, spec, transitionsOf, type TestStore } from '../support/queue-store.js';

let h: TestStore;
afterEach(async () => {
  await h?.dispose();
});

describe('retries in the store', () => {
  const BACKOFF = { baseMs: 1000, maxMs: 60_000 };

  it("an executor's retry_after (a usage limit's reset) holds the retry until then, within 24 hours", async () => {
    h = await openTestStore({ backoff: BACKOFF, random: () => 0.5 });
    await h.store.createMany([spec('limited'), spec('far'), spec('soon')], 'test');
    const reset = h.clock.t + 3600_000;
    let t = await leaseAndAccept(h.store, A0);
    t = await h.store.fail(t.id, t.generation, 'a0', { code: 'EXEC_USAGE_LIMIT', message: 'usage limit', retryable: true, retry_after: reset });
    expect(t).toMatchObject({ status: 'failed', next_run_at: reset });
    expect(t.last_error).toEqual({ code: 'EXEC_USAGE_LIMIT', message: 'usage limit', retryable: true, retry_after: reset });
    // Far ahead is bounded; sooner than the backoff is the backoff.
    const far = await leaseAndAccept(h.store, A0);
    expect((await h.store.fail(far.id, far.generation, 'a0', { code: 'E', message: 'e', retry_after: h.clock.t + 7 * 86_400_000 })).next_run_at).toBe(h.clock.t + 86_400_000);
    const soon = await leaseAndAccept(h.store, A0);
    expect((await h.store.fail(soon.id, soon.generation, 'a0', { code: 'E', message: 'e', retry_after: h.clock.t + 1 })).next_run_at).toBe(h.clock.t + retryDelayMs(1, 0.5, BACKOFF));

    h.clock.advance(3600_000 - 1);
    await h.store.sweep();
    expect((await h.store.get(t.id))!.status).toBe('failed');
    h.clock.advance(1);
    await h.store.sweep();
    expect((await h.store.get(t.id))!.status).toBe('queued');
  });

  it('a retryable failure -> failed with next_run_at after the backoff, then queued by the sweeper', async () => {
    const draw = 0.25;
    h = await openTestStore({ backoff: BACKOFF, random: () => draw });
    await h.store.create(spec('flaky', { max_attempts: 3 }), 'test');
    let t = await leaseAndAccept(h.store, A0);
    t = await h.store.fail(t.id, t.generation, 'a0', { code: 'TESTS_RED', message: '3 tests fail', retryable: true, details: { failed: 3 } });
    const delay1 = retryDelayMs(1, draw, BACKOFF); // 625
    expect(t).toMatchObject({ status: 'failed', attempts: 1, lease: null, next_run_at: h.clock.t + delay1 });
    expect(t.last_error).toEqual({ code: 'TESTS_RED', message: '3 tests fail', retryable: true, details: { failed: 3 } });
    expect((await h.store.stats()).byStatus.failed).toBe(1);

    h.clock.advance(delay1 - 1);
    expect(await h.store.sweep()).toBe(0);
    expect((await h.store.get(t.id))!.status).toBe('failed');
    h.clock.advance(1);
    expect(await h.store.sweep()).toBe(1);
    expect((await h.store.get(t.id))!).toMatchObject({ status: 'queued', next_run_at: null, queued_at: h.clock.t });

    // Second failure: the delay doubles.
    t = await leaseAndAccept(h.store, A0);
    t = await h.store.fail(t.id, t.generation, 'a0', { code: 'TESTS_RED', message: 'still red' });
    expect(t.next_run_at! - h.clock.t).toBe(retryDelayMs(2, draw, BACKOFF));
    expect(retryDelayMs(2, draw, BACKOFF)).toBe(2 * delay1);
  });

  it('jitter spreads tasks that fail together', async () => {
    let i = 0;
    const draws = [0.1, 0.9];
    h = await openTestStore({ backoff: BACKOFF, random: () => draws[i++ % 2]! });
    await h.store.createMany([spec('a'), spec('b')], 'test');
    const a = await leaseAndAccept(h.store, A0);
    const b = await leaseAndAccept(h.store, A0);
    i = 0;
    const fa = await h.store.fail(a.id, a.generation, 'a0', { code: 'E', message: 'e' });
    i = 1;
    const fb = await h.store.fail(b.id, b.generation, 'a0', { code: 'E', message: 'e' });
    expect(fa.next_run_at).not.toBe(fb.next_run_at);
  });

  it('dead-letters after max_attempts, keeping the last error', async () => {
    h = await openTestStore({ backoff: BACKOFF });
    const created = (await h.store.create(spec('doomed', { max_attempts: 2 }), 'test')).task;
    let t = await leaseAndAccept(h.store, A0);
    await h.store.fail(t.id, t.generation, 'a0', { code: 'E1', message: 'first' });
    h.clock.advance(BACKOFF.maxMs);
    await h.store.sweep();
    t = await leaseAndAccept(h.store, A0);
    expect(t.attempts).toBe(2);
    const dead = await h.store.fail(t.id, t.generation, 'a0', { code: 'E2', message: 'second' });
    expect(dead).toMatchObject({ status: 'dead_letter', attempts: 2, next_run_at: null });
    expect(dead.last_error).toEqual({ code: 'E2', message: 'second', retryable: true });
    expect(await transitionsOf(h.store, created.id)).toEqual([
      '∅->queued',
      'queued->assigned',
      'assigned->running',
      'running->failed',
      'failed->queued',
      'queued->assigned',
      'assigned->running',
      'running->dead_letter',
    ]);
    const last = (await h.store.events({ taskId: created.id })).items.pop()!;
    expect(last.reason).toContain('out of attempts (2/2)');
  });

  it('a non-retryable error dead-letters at once, attempts left or not', async () => {
    h = await openTestStore();
    await h.store.create(spec('bad input', { max_attempts: 5 }), 'test');
    const t = await leaseAndAccept(h.store, A0);
    const dead = await h.store.fail(t.id, t.generation, 'a0', { code: 'BAD_SPEC', message: 'no such file', retryable: false });
    expect(dead).toMatchObject({ status: 'dead_letter', attempts: 1 });
    expect(dead.last_error).toMatchObject({ code: 'BAD_SPEC', retryable: false });
  });

  it('a failure before accepting counts as an attempt, so a task that cannot start ends', async () => {
    h = await openTestStore();
    await h.store.create(spec('cannot start', { max_attempts: 1 }), 'test');
    const t = (await h.store.leaseNext(A0))!;
    const dead = await h.store.fail(t.id, t.generation, 'a0', { code: 'NO_WORKTREE', message: 'cannot make a worktree' });
    expect(dead).toMatchObject({ status: 'dead_letter', attempts: 1 });
  });

  it('manual retry from dead_letter queues the task with attempts reset, keeping last_error', async () => {
    h = await openTestStore();
    await h.store.create(spec('doomed', { max_attempts: 1 }), 'test');
    const t = await leaseAndAccept(h.store, A0);
    await h.store.fail(t.id, t.generation, 'a0', { code: 'E', message: 'e' });
    h.clock.advance(5);
    const back = await h.store.retry(t.id, 'operator:ann');
    expect(back).toMatchObject({ status: 'queued', attempts: 0, queued_at: h.clock.t, generation: 1 });
    expect(back.last_error!.code).toBe('E');
    const last = (await h.store.events({ taskId: t.id })).items.pop()!;
    expect(last).toMatchObject({ from: 'dead_letter', to: 'queued', actor: 'operator:ann', reason: 'retried by operator' });
    const again = await leaseAndAccept(h.store, A0);
    expect(again.generation).toBe(2);
    expect(again.attempts).toBe(1);
  });

  it('retry of a failed task waiting on backoff queues it early', async () => {
    h = await openTestStore({ backoff: BACKOFF });
    await h.store.create(spec('flaky'), 'test');
    const t = await leaseAndAccept(h.store, A0);
    await h.store.fail(t.id, t.generation, 'a0', { code: 'E', message: 'e' });
    const early = await h.store.retry(t.id, 'operator');
    expect(early).toMatchObject({ status: 'queued', next_run_at: null, attempts: 1 });
    // The backoff timer entry that is left over does nothing when it comes due.
    h.clock.advance(BACKOFF.maxMs);
    expect(await h.store.sweep()).toBe(0);
    expect((await h.store.verifyIntegrity()).ok).toBe(true);
  });

  it('retry is refused for tasks that have not stopped', async () => {
    h = await openTestStore();
    await h.store.createMany([spec('queued'), spec('assigned'), spec('running')], 'test');
    const assigned = (await h.store.leaseNext(A0))!;
    await h.store.leaseNext(A0);
    const running = (await h.store.list({ status: 'assigned' })).items.find((t) => t.id !== assigned.id)!;
    await h.store.accept(running.id, running.generation, 'a0');
    for (const t of (await h.store.list({})).items) {
      const err = await expectCode(h.store.retry(t.id, 'operator'), 'ILLEGAL_TRANSITION');
      expect(err.details).toMatchObject({ task_id: t.id, to: 'queued' });
    }
    await expectCode(h.store.retry('01NOSUCHTASK00000000000000', 'operator'), 'TASK_NOT_FOUND');
  });
});

describe('delayed tasks (run_at)', () => {
  it('wait in pending until run_at, then the sweeper queues them', async () => {
    h = await openTestStore();
    const at = h.clock.t + 60_000;
    const t = (await h.store.create(spec('later', { run_at: at }), 'test')).task;
    expect(t).toMatchObject({ status: 'pending', run_at: at, next_run_at: at, queued_at: null });
    expect(await h.store.leaseNext(A0)).toBeNull();
    h.clock.advance(59_999);
    expect(await h.store.sweep()).toBe(0);
    h.clock.advance(1);
    expect(await h.store.sweep()).toBe(1);
    expect((await h.store.get(t.id))!).toMatchObject({ status: 'queued', next_run_at: null, queued_at: at });
    expect((await h.store.leaseNext(A0))!.id).toBe(t.id);
    const created = (await h.store.events({ taskId: t.id })).items[0]!;
    expect(created).toMatchObject({ type: 'created', to: 'pending', reason: 'delayed until run_at' });
  });

  it('a run_at in the past queues at once', async () => {
    h = await openTestStore();
    const t = (await h.store.create(spec('now', { run_at: h.clock.t - 1000 }), 'test')).task;
    expect(t.status).toBe('queued');
    expect(t.next_run_at).toBeNull();
  });

  it('a delayed task with dependencies waits for both', async () => {
    h = await openTestStore();
    await h.store.create(spec('dep'), 'test');
    const dep = await leaseAndAccept(h.store, A0);
    const t = (await h.store.create(spec('both', { run_at: h.clock.t + 10_000, depends_on: [dep.id] }), 'test')).task;
    // run_at comes first: still waiting on the dependency.
    h.clock.advance(10_000);
    await h.store.sweep();
    expect((await h.store.get(t.id))!).toMatchObject({ status: 'pending', next_run_at: null });
    await h.store.complete(dep.id, dep.generation, 'a0', 'ok');
    expect((await h.store.get(t.id))!.status).toBe('queued');

    // The dependency first: then it still waits for run_at.
    await h.store.create(spec('dep2'), 'test');
    const dep2 = await leaseAndAccept(h.store, A0);
    const at = h.clock.t + 10_000;
    const t2 = (await h.store.create(spec('both2', { run_at: at, depends_on: [dep2.id] }), 'test')).task;
    await h.store.complete(dep2.id, dep2.generation, 'a0', 'ok');
    expect((await h.store.get(t2.id))!).toMatchObject({ status: 'pending', next_run_at: at });
    h.clock.advance(10_000);
    await h.store.sweep();
    expect((await h.store.get(t2.id))!.status).toBe('queued');
  });
});
