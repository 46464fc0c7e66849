/**
 * Idempotent creation, cancellation from every state, and review.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TASK_STATUSES } from '../../shared/task.js';
import { A0, allEvents, expectCode, leaseAndAccept, makeTaskIn, openTestStore, snapshot, spec, type TestStore } from '../support/queue-store.js';

let h: TestStore;
beforeEach(async () => {
  h = await openTestStore();
});
afterEach(async () => {
  await h.dispose();
});

describe('idempotency', () => {
  it('the same key returns the same task with created:false, and writes nothing', async () => {
    const first = await h.store.create(spec('deploy', { idempotency_key: 'deploy-42' }), 'client');
    expect(first.created).toBe(true);
    const before = await snapshot(h.store);
    h.clock.advance(1000);
    const again = await h.store.create(spec('deploy, sent twice', { idempotency_key: 'deploy-42', lane: 'urgent' }), 'client');
    expect(again.created).toBe(false);
    expect(again.task).toEqual(first.task);
    expect(await snapshot(h.store)).toEqual(before);
  });

  it('returns the task as it is now, whatever happened to it', async () => {
    const first = (await h.store.create(spec('t', { idempotency_key: 'k' }), 'client')).task;
    const running = await leaseAndAccept(h.store, A0);
    expect(running.id).toBe(first.id);
    const again = await h.store.create(spec('t', { idempotency_key: 'k' }), 'client');
    expect(again).toEqual({ task: running, created: false });
  });

  it('in a batch, known keys return their tasks and the rest is created', async () => {
    const old = (await h.store.create(spec('old', { idempotency_key: 'old' }), 'client')).task;
    const results = await h.store.createMany(
      [spec('old again', { idempotency_key: 'old', ref: 'o' }), spec('new', { idempotency_key: 'new', depends_on: ['o'] })],
      'client',
    );
    expect(results[0]).toEqual({ task: expect.objectContaining({ id: old.id }), created: false });
    expect(results[1]!.created).toBe(true);
    // A ref to an idempotent hit resolves to the existing task.
    expect(results[1]!.task.depends_on).toEqual([old.id]);
    const repeat = await h.store.createMany([spec('x', { idempotency_key: 'old' }), spec('y', { idempotency_key: 'new' })], 'client');
    expect(repeat.map((r) => r.created)).toEqual([false, false]);
    expect(repeat.map((r) => r.task.id)).toEqual([old.id, results[1]!.task.id]);
  });

  it('the same key twice in one batch -> VALIDATION_FAILED, nothing written', async () => {
    const before = await snapshot(h.store);
    await expectCode(
      h.store.createMany([spec('a', { idempotency_key: 'k' }), spec('b', { idempotency_key: 'k' })], 'client'),
      'VALIDATION_FAILED',
    );
    expect(await snapshot(h.store)).toEqual(before);
  });

  it('keys are exact strings (no trimming or case folding)', async () => {
    const a = (await h.store.create(spec('a', { idempotency_key: 'Key' }), 'c')).task;
    const b = (await h.store.create(spec('b', { idempotency_key: 'key' }), 'c')).task;
    const c = (await h.store.create(spec('c', { idempotency_key: 'key ' }), 'c')).task;
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
  });
});

describe('cancellation', () => {
  for (const status of TASK_STATUSES) {
    const final = status === 'completed' || status === 'cancelled';
    it(final ? `is refused from ${status} with ILLEGAL_TRANSITION, nothing written` : `works from ${status}`, async () => {
      const t = await makeTaskIn(h.store, status);
      const before = await snapshot(h.store);
      if (final) {
        const err = await expectCode(h.store.cancel(t.id, 'operator'), 'ILLEGAL_TRANSITION');
        expect(err.details).toEqual({ task_id: t.id, from: status, to: 'cancelled' });
        expect(await snapshot(h.store)).toEqual(before);
        return;
      }
      h.clock.advance(3);
      const cancelled = await h.store.cancel(t.id, 'operator:bo', 'no longer wanted');
      expect(cancelled).toMatchObject({ status: 'cancelled', lease: null, queued_at: null, next_run_at: null, updated_at: h.clock.t });
      const last = (await h.store.events({ taskId: t.id })).items.pop()!;
      expect(last).toMatchObject({ from: status, to: 'cancelled', actor: 'operator:bo', reason: 'no longer wanted', at: h.clock.t });
      // Out of every index: not leasable, not leased, not due.
      expect(await h.store.leaseTask(t.id, A0)).toBeNull();
      expect((await h.store.leaseNext(A0))?.id).not.toBe(t.id);
      expect((await h.store.leasedBy('a0')).map((x) => x.id)).not.toContain(t.id);
      expect((await h.store.verifyIntegrity()).problems).toEqual([]);
    });
  }

  it('the default reason is "cancelled"', async () => {
    const t = (await h.store.create(spec('t'), 'c')).task;
    await h.store.cancel(t.id, 'operator');
    expect((await h.store.events({ taskId: t.id })).items.pop()!.reason).toBe('cancelled');
  });

  it('of an unknown task -> TASK_NOT_FOUND', async () => {
    await expectCode(h.store.cancel('01NOSUCHTASK00000000000000', 'operator'), 'TASK_NOT_FOUND');
  });
});

describe('review', () => {
  it('complete -> review, then approve -> completed', async () => {
    const t = (await h.store.create(spec('careful', { review: true }), 'c')).task;
    expect(t.review).toBe(true);
    const running = await leaseAndAccept(h.store, A0);
    const inReview = await h.store.complete(running.id, running.generation, 'a0', { diff: '+1 -1' });
    expect(inReview).toMatchObject({ status: 'review', lease: null, result: { diff: '+1 -1' } });
    expect((await h.store.stats()).byStatus.review).toBe(1);
    const done = await h.store.approve(t.id, 'operator:cy');
    expect(done).toMatchObject({ status: 'completed', result: { diff: '+1 -1' } });
    const events = await allEvents(h.store, t.id);
    expect(events.slice(-2).map((e) => [e.from, e.to, e.actor])).toEqual([
      ['running', 'review', 'agent:a0'],
      ['review', 'completed', 'operator:cy'],
    ]);
  });

  it('approve releases dependants like a completion', async () => {
    const t = (await h.store.create(spec('careful', { review: true }), 'c')).task;
    const after = (await h.store.create(spec('after', { depends_on: [t.id] }), 'c')).task;
    const running = await leaseAndAccept(h.store, A0);
    await h.store.complete(running.id, running.generation, 'a0', 'r');
    expect((await h.store.get(after.id))!.status).toBe('pending');
    await h.store.approve(t.id, 'operator');
    expect((await h.store.get(after.id))!.status).toBe('queued');
  });

  it('rejectReview reopens the task with the reason as feedback (queued at once), or dead-letters it when out of attempts', async () => {
    const t = (await h.store.create(spec('careful', { review: true, max_attempts: 2 }), 'c')).task;
    let running = await leaseAndAccept(h.store, A0);
    await h.store.complete(running.id, running.generation, 'a0', 'r1');
    const reopened = await h.store.rejectReview(t.id, 'operator', 'tests are missing');
    expect(reopened).toMatchObject({ status: 'queued', attempts: 1, breaker: { rejections: 1 } });
    expect(reopened.feedback).toEqual([{ at: h.clock.t, by: 'operator', kind: 'review', text: 'tests are missing', attempt: 1 }]);
    running = await leaseAndAccept(h.store, A0);
    await h.store.complete(running.id, running.generation, 'a0', 'r2');
    const dead = await h.store.rejectReview(t.id, 'operator', 'still wrong');
    expect(dead).toMatchObject({ status: 'dead_letter', attempts: 2 });
    expect(dead.last_error).toEqual({ code: 'REVIEW_REJECTED', message: 'still wrong', retryable: true });
  });

  it('approve and rejectReview are refused outside review, even where the table has the edge', async () => {
    await h.store.create(spec('plain'), 'c');
    const running = await leaseAndAccept(h.store, A0);
    const before = await snapshot(h.store);
    await expectCode(h.store.approve(running.id, 'operator'), 'ILLEGAL_TRANSITION');
    await expectCode(h.store.rejectReview(running.id, 'operator', 'no'), 'ILLEGAL_TRANSITION');
    expect(await snapshot(h.store)).toEqual(before);
  });

  it('a task without review completes directly', async () => {
    await h.store.create(spec('plain'), 'c');
    const running = await leaseAndAccept(h.store, A0);
    expect((await h.store.complete(running.id, running.generation, 'a0', undefined)).status).toBe('completed');
    expect((await h.store.get(running.id))!.result).toBeNull();
  });
});
