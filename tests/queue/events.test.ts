/**
 * The audit log: one event per transition with actor, from, to, generation and reason; readable
 * per task and globally, paged by cursor, filtered by time; and change notifications.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskChange } from '../../hub/store/task-store.js';
import { A0, allEvents, openTestStore, spec, type TestStore } from '../support/queue-store.js';

let h: TestStore;
beforeEach(async () => {
  h = await openTestStore();
});
afterEach(async () => {
  await h.dispose();
});

describe('the event log', () => {
  it('records every transition with actor, from, to, generation, reason and time', async () => {
    const t0 = h.clock.t;
    const t = (await h.store.create(spec('t', { max_attempts: 2 }), 'client:ci')).task;
    h.clock.advance(10);
    const leased = (await h.store.leaseNext(A0))!;
    h.clock.advance(10);
    const running = await h.store.accept(t.id, leased.generation, 'a0');
    h.clock.advance(10);
    await h.store.renew(t.id, running.generation, 'a0'); // not a transition: no event
    await h.store.fail(t.id, running.generation, 'a0', { code: 'TESTS_RED', message: 'red' });
    h.clock.advance(60_000);
    await h.store.sweep();
    const events = await allEvents(h.store, t.id);
    expect(events.map((e) => ({ type: e.type, from: e.from, to: e.to, generation: e.generation, actor: e.actor, at: e.at - t0 }))).toEqual([
      { type: 'created', from: null, to: 'queued', generation: 0, actor: 'client:ci', at: 0 },
      { type: 'transition', from: 'queued', to: 'assigned', generation: 1, actor: 'agent:a0', at: 10 },
      { type: 'transition', from: 'assigned', to: 'running', generation: 1, actor: 'agent:a0', at: 20 },
      { type: 'transition', from: 'running', to: 'failed', generation: 1, actor: 'agent:a0', at: 30 },
      { type: 'transition', from: 'failed', to: 'queued', generation: 1, actor: 'sweeper', at: 60_030 },
    ]);
    expect(events.map((e) => e.reason)).toEqual([
      'created',
      'assigned to a0',
      'accepted, attempt 1',
      expect.stringMatching(/^TESTS_RED: retry in \d+ ms$/),
      'backoff elapsed',
    ]);
    for (const e of events) expect(e.task_id).toBe(t.id);
  });

  it('event ids are unique and sort in the order the events were written', async () => {
    const batch = await h.store.createMany([spec('a'), spec('b'), spec('c')], 'c');
    for (const r of batch) await h.store.cancel(r.task.id, 'op');
    const events = await allEvents(h.store);
    const ids = events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(events.map((e) => e.to)).toEqual(['queued', 'queued', 'queued', 'cancelled', 'cancelled', 'cancelled']);
  });

  it('reads globally and per task, in pages joined by the `after` cursor', async () => {
    const tasks = (await h.store.createMany([spec('a'), spec('b')], 'c')).map((r) => r.task);
    for (let i = 0; i < 3; i++) {
      const l = (await h.store.leaseTask(tasks[0]!.id, A0))!;
      await h.store.release(l.id, l.generation, 'a0', `round ${i}`);
    }
    await h.store.cancel(tasks[1]!.id, 'op');
    const all = await allEvents(h.store);
    expect(all).toHaveLength(2 + 6 + 1);

    // Global pages of 4: 4 + 4 + 1, the last page ends with next: null.
    const p1 = await h.store.events({ limit: 4 });
    expect(p1.items).toEqual(all.slice(0, 4));
    expect(p1.next).toBe(all[3]!.id);
    const p2 = await h.store.events({ limit: 4, after: p1.next! });
    expect(p2.items).toEqual(all.slice(4, 8));
    const p3 = await h.store.events({ limit: 4, after: p2.next! });
    expect(p3).toEqual({ items: all.slice(8), next: null });

    // Per task: the same events, filtered, with their own cursor.
    const ofA = all.filter((e) => e.task_id === tasks[0]!.id);
    const q1 = await h.store.events({ taskId: tasks[0]!.id, limit: 5 });
    expect(q1.items).toEqual(ofA.slice(0, 5));
    const q2 = await h.store.events({ taskId: tasks[0]!.id, limit: 5, after: q1.next! });
    expect(q2).toEqual({ items: ofA.slice(5), next: null });
    expect(await h.store.events({ taskId: '01NOSUCHTASK00000000000000' })).toEqual({ items: [], next: null });
  });

  it('`since` returns the events at or after a time, globally and per task', async () => {
    const a = (await h.store.create(spec('a'), 'c')).task;
    h.clock.advance(1000);
    const cut = h.clock.t;
    const b = (await h.store.create(spec('b'), 'c')).task;
    h.clock.advance(1000);
    await h.store.cancel(a.id, 'op');
    const since = await h.store.events({ since: cut });
    expect(since.items.map((e) => [e.task_id, e.to])).toEqual([
      [b.id, 'queued'],
      [a.id, 'cancelled'],
    ]);
    expect(since.items.every((e) => e.at >= cut)).toBe(true);
    const ofA = await h.store.events({ taskId: a.id, since: cut });
    expect(ofA.items.map((e) => e.to)).toEqual(['cancelled']);
    expect((await h.store.events({ since: h.clock.t + 1 })).items).toEqual([]);
  });

  it('clamps limit to 1..1000', async () => {
    await h.store.createMany([spec('a'), spec('b')], 'c');
    expect((await h.store.events({ limit: 0 })).items).toHaveLength(1);
    expect((await h.store.events({ limit: -5 })).items).toHaveLength(1);
    expect((await h.store.events({ limit: 10_000 })).items).toHaveLength(2);
  });
});

describe('change notifications', () => {
  it('tell listeners each durable transition in commit order, with the record before and after', async () => {
    const seen: TaskChange[] = [];
    const off = h.store.onChange((c) => seen.push(c));
    const t = (await h.store.create(spec('t'), 'c')).task;
    const leased = (await h.store.leaseNext(A0))!;
    await h.store.renew(t.id, leased.generation, 'a0');
    await h.store.cancel(t.id, 'op');
    expect(seen.map((c) => [c.before?.status ?? null, c.task.status, c.event.to])).toEqual([
      [null, 'queued', 'queued'],
      ['queued', 'assigned', 'assigned'],
      ['assigned', 'cancelled', 'cancelled'],
    ]);
    expect(seen.map((c) => c.event)).toEqual(await allEvents(h.store));
    off();
    await h.store.create(spec('unheard'), 'c');
    expect(seen).toHaveLength(3);
  });

  it('a listener that throws does not undo or block the change', async () => {
    h.store.onChange(() => {
      throw new Error('listener bug');
    });
    const t = (await h.store.create(spec('t'), 'c')).task;
    expect((await h.store.get(t.id))!.status).toBe('queued');
  });

  it('a refused operation notifies nobody', async () => {
    const seen: TaskChange[] = [];
    h.store.onChange((c) => seen.push(c));
    await h.store.create(spec('bad', { depends_on: ['01NOSUCHTASK00000000000000'] }), 'c').catch(() => undefined);
    expect(seen).toEqual([]);
  });
});
