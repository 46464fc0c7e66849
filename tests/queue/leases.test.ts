/**
 * Leases: the generation fence, the holder check, renewals, expiry by the sweeper (assignment and
 * running leases), and the overall timeout of an attempt.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Task } from '../../shared/task.js';
import { A0, agent, expectCode, leaseAndAccept, openTestStore, snapshot, spec, transitionsOf, type TestStore } from '../support/queue-store.js';

let h: TestStore;
beforeEach(async () => {
  h = await openTestStore();
});
afterEach(async () => {
  await h.dispose();
});

const TIMEOUTS = { start_ms: 10_000, lease_ms: 30_000, overall_ms: 100_000 };

describe('assignment and generations', () => {
  it('each assignment increments the generation and gives a lease with the start timeout', async () => {
    const t = (await h.store.create(spec('t', { timeouts: TIMEOUTS }), 'test')).task;
    expect(t.generation).toBe(0);
    const first = (await h.store.leaseNext(A0))!;
    expect(first.generation).toBe(1);
    expect(first.lease).toEqual({ agent_id: 'a0', generation: 1, expires_at: h.clock.t + TIMEOUTS.start_ms });
    await h.store.release(first.id, 1, 'a0', 'no');
    const second = (await h.store.leaseNext(agent('b')))!;
    expect(second.generation).toBe(2);
    expect(second.lease!.agent_id).toBe('b');
  });

  it('accept starts the attempt: running, attempts + 1, lease for lease_ms from now', async () => {
    await h.store.create(spec('t', { timeouts: TIMEOUTS }), 'test');
    const leased = (await h.store.leaseNext(A0))!;
    h.clock.advance(500);
    const running = await h.store.accept(leased.id, leased.generation, 'a0');
    expect(running.status).toBe('running');
    expect(running.attempts).toBe(1);
    expect(running.lease).toEqual({ agent_id: 'a0', generation: 1, expires_at: h.clock.t + TIMEOUTS.lease_ms, started_at: h.clock.t });
  });

  it('a repeated accept (after a reconnect) changes nothing', async () => {
    await h.store.create(spec('t'), 'test');
    const running = await leaseAndAccept(h.store, A0);
    const before = await snapshot(h.store);
    h.clock.advance(10);
    const again = await h.store.accept(running.id, running.generation, 'a0');
    expect(again).toEqual(running);
    expect(await snapshot(h.store)).toEqual(before);
  });
});

describe('the generation fence', () => {
  /** A task leased at generation 1, released, and leased again to another agent at generation 2. */
  async function reassigned(): Promise<Task> {
    await h.store.create(spec('t'), 'test');
    const first = await leaseAndAccept(h.store, A0);
    await h.store.release(first.id, first.generation, 'a0', 'drain');
    const second = (await h.store.leaseNext(agent('b')))!;
    expect(second.generation).toBe(2);
    return h.store.accept(second.id, 2, 'b');
  }

  const staleCalls: Array<[string, (t: Task) => Promise<unknown>]> = [
    ['accept', (t) => h.store.accept(t.id, 1, 'a0')],
    ['renew', (t) => h.store.renew(t.id, 1, 'a0')],
    ['complete', (t) => h.store.complete(t.id, 1, 'a0', 'late result')],
    ['fail', (t) => h.store.fail(t.id, 1, 'a0', { code: 'X', message: 'late', retryable: false })],
    ['release', (t) => h.store.release(t.id, 1, 'a0', 'late')],
  ];

  for (const [name, call] of staleCalls) {
    it(`${name} with an older generation -> STALE_GENERATION, record and event log unchanged`, async () => {
      const t = await reassigned();
      const before = await snapshot(h.store);
      const err = await expectCode(call(t), 'STALE_GENERATION');
      expect(err.details).toMatchObject({ task_id: t.id, generation: 2 });
      expect(await snapshot(h.store)).toEqual(before);
    });
  }

  const otherAgentCalls: Array<[string, (t: Task) => Promise<unknown>]> = [
    ['accept', (t) => h.store.accept(t.id, t.generation, 'a0')],
    ['renew', (t) => h.store.renew(t.id, t.generation, 'a0')],
    ['complete', (t) => h.store.complete(t.id, t.generation, 'a0', 'x')],
    ['fail', (t) => h.store.fail(t.id, t.generation, 'a0', { code: 'X', message: 'x' })],
    ['release', (t) => h.store.release(t.id, t.generation, 'a0', 'x')],
  ];

  for (const [name, call] of otherAgentCalls) {
    it(`${name} by another agent with the current generation -> NOT_LEASE_HOLDER, nothing changes`, async () => {
      await h.store.create(spec('t'), 'test');
      const t = await leaseAndAccept(h.store, agent('b'));
      const before = await snapshot(h.store);
      const err = await expectCode(call(t), 'NOT_LEASE_HOLDER');
      expect(err.details).toEqual({ task_id: t.id });
      expect(await snapshot(h.store)).toEqual(before);
    });
  }

  it('a future generation is refused too', async () => {
    await h.store.create(spec('t'), 'test');
    const t = await leaseAndAccept(h.store, A0);
    await expectCode(h.store.complete(t.id, t.generation + 1, 'a0', 'x'), 'STALE_GENERATION');
  });

  it('a lease operation on an unknown task -> TASK_NOT_FOUND', async () => {
    await expectCode(h.store.accept('01NOSUCHTASK00000000000000', 1, 'a0'), 'TASK_NOT_FOUND');
  });

  it('after cancel, the old holder is fenced off', async () => {
    await h.store.create(spec('t'), 'test');
    const t = await leaseAndAccept(h.store, A0);
    await h.store.cancel(t.id, 'operator');
    const before = await snapshot(h.store);
    await expectCode(h.store.complete(t.id, t.generation, 'a0', 'x'), 'STALE_GENERATION');
    expect(await snapshot(h.store)).toEqual(before);
  });
});

describe('renewal', () => {
  it('extends a running lease to now + lease_ms, never past the overall deadline', async () => {
    await h.store.create(spec('t', { timeouts: TIMEOUTS }), 'test');
    const t = await leaseAndAccept(h.store, A0);
    const started = t.lease!.started_at!;
    h.clock.advance(20_000);
    const renewed = await h.store.renew(t.id, t.generation, 'a0');
    expect(renewed.lease!.expires_at).toBe(h.clock.t + TIMEOUTS.lease_ms);
    h.clock.advance(60_000); // 80 s into a 100 s budget
    const capped = await h.store.renew(t.id, t.generation, 'a0');
    expect(capped.lease!.expires_at).toBe(started + TIMEOUTS.overall_ms);
    // A renewal writes no event: it is not a transition.
    expect(await transitionsOf(h.store, t.id)).toEqual(['∅->queued', 'queued->assigned', 'assigned->running']);
  });

  it('extends an assignment by start_ms', async () => {
    await h.store.create(spec('t', { timeouts: TIMEOUTS }), 'test');
    const t = (await h.store.leaseNext(A0))!;
    h.clock.advance(5_000);
    const renewed = await h.store.renew(t.id, t.generation, 'a0');
    expect(renewed.lease!.expires_at).toBe(h.clock.t + TIMEOUTS.start_ms);
  });

  it('a first lease longer than the overall timeout is cut to it', async () => {
    await h.store.create(spec('t', { timeouts: { lease_ms: 50_000, overall_ms: 20_000 } }), 'test');
    const t = await leaseAndAccept(h.store, A0);
    expect(t.lease!.expires_at).toBe(h.clock.t + 20_000);
  });
});

describe('expiry by the sweeper', () => {
  it('an assignment not accepted in time goes back to queued; no attempt is counted', async () => {
    await h.store.create(spec('t', { timeouts: TIMEOUTS }), 'test');
    const t = (await h.store.leaseNext(A0))!;
    h.clock.advance(TIMEOUTS.start_ms - 1);
    expect(await h.store.sweep()).toBe(0);
    h.clock.advance(1);
    expect(await h.store.sweep()).toBe(1);
    const back = (await h.store.get(t.id))!;
    expect(back).toMatchObject({ status: 'queued', attempts: 0, generation: 1, lease: null, queued_at: h.clock.t });
    expect((await h.store.leasedBy('a0')).length).toBe(0);
    const events = await transitionsOf(h.store, t.id);
    expect(events).toEqual(['∅->queued', 'queued->assigned', 'assigned->queued']);
  });

  it('a running lease that expires puts the task back with the attempt counted', async () => {
    await h.store.create(spec('t', { timeouts: TIMEOUTS, max_attempts: 2 }), 'test');
    const t = await leaseAndAccept(h.store, A0);
    h.clock.advance(TIMEOUTS.lease_ms);
    expect(await h.store.sweep()).toBe(1);
    const back = (await h.store.get(t.id))!;
    expect(back).toMatchObject({ status: 'queued', attempts: 1, lease: null });
    expect(back.last_error).toMatchObject({ code: 'LEASE_EXPIRED', retryable: true });
    // The late holder is fenced off.
    await expectCode(h.store.complete(t.id, t.generation, 'a0', 'late'), 'STALE_GENERATION');
  });

  it('a running lease that expires on the last attempt dead-letters the task', async () => {
    await h.store.create(spec('t', { timeouts: TIMEOUTS, max_attempts: 1 }), 'test');
    const t = await leaseAndAccept(h.store, A0);
    h.clock.advance(TIMEOUTS.lease_ms + 5);
    await h.store.sweep();
    const dead = (await h.store.get(t.id))!;
    expect(dead.status).toBe('dead_letter');
    expect(dead.attempts).toBe(1);
    expect(dead.last_error!.code).toBe('LEASE_EXPIRED');
    const last = (await h.store.events({ taskId: t.id })).items.pop()!;
    expect(last).toMatchObject({ from: 'running', to: 'dead_letter', actor: 'sweeper', generation: 1 });
  });

  it('a renewed lease does not expire at its old time', async () => {
    await h.store.create(spec('t', { timeouts: TIMEOUTS }), 'test');
    const t = await leaseAndAccept(h.store, A0);
    h.clock.advance(TIMEOUTS.lease_ms - 1);
    await h.store.renew(t.id, t.generation, 'a0');
    h.clock.advance(1);
    expect(await h.store.sweep()).toBe(0);
    expect((await h.store.get(t.id))!.status).toBe('running');
  });

  it('the overall timeout ends an attempt however often it is renewed (TASK_TIMEOUT)', async () => {
    await h.store.create(spec('t', { timeouts: TIMEOUTS, max_attempts: 2 }), 'test');
    const t = await leaseAndAccept(h.store, A0);
    for (let i = 0; i < 4; i++) {
      h.clock.advance(20_000);
      await h.store.renew(t.id, t.generation, 'a0');
      expect(await h.store.sweep()).toBe(0);
    }
    // 80 s in: renewals now stop at the 100 s deadline.
    h.clock.advance(20_000);
    await h.store.renew(t.id, t.generation, 'a0');
    expect(await h.store.sweep()).toBe(1);
    const back = (await h.store.get(t.id))!;
    expect(back.status).toBe('queued');
    expect(back.last_error).toMatchObject({ code: 'TASK_TIMEOUT' });
    expect(back.attempts).toBe(1);
  });

  it('a lease that lapses before the overall deadline is LEASE_EXPIRED even if the sweep comes late', async () => {
    await h.store.create(spec('t', { timeouts: TIMEOUTS, max_attempts: 2 }), 'test');
    await leaseAndAccept(h.store, A0);
    h.clock.advance(TIMEOUTS.overall_ms * 2);
    await h.store.sweep();
    const [back] = (await h.store.list({})).items;
    expect(back!.last_error!.code).toBe('LEASE_EXPIRED');
  });

  it('lists the leases an agent holds', async () => {
    await h.store.createMany([spec('a'), spec('b'), spec('c')], 'test');
    const a = (await h.store.leaseNext(A0))!;
    await h.store.leaseNext(agent('other'));
    const c = await leaseAndAccept(h.store, A0);
    expect((await h.store.leasedBy('a0')).map((t) => t.id).sort()).toEqual([a.id, c.id].sort());
    expect((await h.store.stats()).leases).toBe(3);
  });
});
