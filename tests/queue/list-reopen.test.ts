/**
 * Listing (filters and cursor paging), queue statistics, reopening a store (the in-memory index is
 * rebuilt from what the store holds and expired leases are swept), and the integrity check.
 * Opening a LevelDB folder that is locked or is not a store: tests/store/level-store.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { A0, agent, expectCode, leaseAndAccept, openTestStore, spec, type TestStore } from '../support/queue-store.js';

let h: TestStore;
beforeEach(async () => {
  h = await openTestStore();
});
afterEach(async () => {
  await h.dispose();
});

describe('list', () => {
  async function fill(): Promise<void> {
    await h.store.createMany(
      [
        spec('w1', { repo: 'web', lane: 'high' }),
        spec('w2', { repo: 'web' }),
        spec('a1', { repo: 'api', lane: 'high' }),
        spec('n1'),
        spec('n2', { lane: 'low' }),
      ],
      'c',
    );
    await leaseAndAccept(h.store, agent('x')); // w1 (high, first)
    await h.store.leaseNext(agent('y')); // a1 (high)
  }

  it('lists everything in id (creation) order', async () => {
    await fill();
    const page = await h.store.list({});
    expect(page.items.map((t) => t.title)).toEqual(['w1', 'w2', 'a1', 'n1', 'n2']);
    expect(page.next).toBeNull();
  });

  it('filters by status, lane, repo and lease holder, alone and combined', async () => {
    await fill();
    const titles = async (q: Parameters<typeof h.store.list>[0]) => (await h.store.list(q)).items.map((t) => t.title);
    expect(await titles({ status: 'queued' })).toEqual(['w2', 'n1', 'n2']);
    expect(await titles({ status: 'running' })).toEqual(['w1']);
    expect(await titles({ lane: 'high' })).toEqual(['w1', 'a1']);
    expect(await titles({ repo: 'web' })).toEqual(['w1', 'w2']);
    expect(await titles({ agent: 'y' })).toEqual(['a1']);
    expect(await titles({ status: 'queued', repo: 'web' })).toEqual(['w2']);
    expect(await titles({ status: 'queued', lane: 'low' })).toEqual(['n2']);
    expect(await titles({ agent: 'x', status: 'running' })).toEqual(['w1']);
    expect(await titles({ agent: 'x', status: 'queued' })).toEqual([]);
    expect(await titles({ status: 'completed' })).toEqual([]);
  });

  it('pages with `after`, without gaps or repeats', async () => {
    const ids = (await h.store.createMany(Array.from({ length: 7 }, (_, i) => spec(`t${i}`)), 'c')).map((r) => r.task.id);
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await h.store.list({ limit: 3, ...(after ? { after } : {}) });
      seen.push(...page.items.map((t) => t.id));
      pages++;
      if (!page.next) break;
      after = page.next;
    }
    expect(seen).toEqual(ids);
    expect(pages).toBe(3);
    // Paging a filtered list works the same way.
    const first = await h.store.list({ status: 'queued', limit: 4 });
    const rest = await h.store.list({ status: 'queued', limit: 4, after: first.next! });
    expect([...first.items, ...rest.items].map((t) => t.id)).toEqual(ids);
    expect(rest.next).toBeNull();
  });
});

describe('stats', () => {
  it('counts queued tasks per lane and active tasks per status', async () => {
    await h.store.createMany([spec('u', { lane: 'urgent' }), spec('n1'), spec('n2'), spec('l', { lane: 'low' })], 'c');
    await h.store.create(spec('later', { run_at: h.clock.t + 1000 }), 'c');
    await leaseAndAccept(h.store, A0); // u
    await h.store.leaseNext(A0); // n1
    const s = await h.store.stats();
    expect(s.queued).toEqual({ urgent: 0, high: 0, normal: 1, low: 1 });
    expect(s.byStatus).toMatchObject({ pending: 1, queued: 2, assigned: 1, running: 1, review: 0, failed: 0, dead_letter: 0 });
    expect(s.leases).toBe(2);
  });
});

describe('reopen', () => {
  it('rebuilds the ready index from disk: the same stats and the same next leases', async () => {
    await h.store.createMany(
      [
        spec('low', { lane: 'low' }),
        spec('gpu', { capabilities: ['gpu'], lane: 'urgent' }),
        spec('web', { repo: 'web', lane: 'high' }),
        spec('for-b', { agent: 'b', lane: 'urgent' }),
        spec('n1'),
        spec('n2'),
      ],
      'c',
    );
    h.clock.advance(5);
    const n = (await h.store.leaseNext(agent('z', [], [])))!; // n1, the first normal task any agent can take
    await h.store.release(n.id, n.generation, 'z', 'later'); // back, behind n2
    const before = await h.store.stats();
    await h.reopen();
    expect(await h.store.stats()).toEqual(before);
    expect((await h.store.verifyIntegrity()).problems).toEqual([]);
    const order: string[] = [];
    for (const who of [agent('b'), agent('g', ['gpu']), agent('w', [], ['web']), A0, A0, A0, A0]) {
      order.push((await h.store.leaseNext(who))?.title ?? '-');
    }
    expect(order).toEqual(['for-b', 'gpu', 'web', 'n2', 'n1', 'low', '-']);
  });

  it('sweeps leases that expired while the store was closed', async () => {
    await h.store.createMany([spec('assigned'), spec('running', { max_attempts: 1 }), spec('healthy')], 'c');
    const assigned = (await h.store.leaseNext(A0))!;
    const running = await leaseAndAccept(h.store, A0);
    h.clock.advance(30_000);
    const healthy = await leaseAndAccept(h.store, A0);
    await h.store.close();
    h.clock.advance(30_000); // 60 s after the first two leases began, 30 s after the third
    const store = await h.reopen();
    expect((await store.get(assigned.id))!.status).toBe('queued');
    expect((await store.get(running.id))!.status).toBe('dead_letter');
    expect((await store.get(healthy.id))!.status).toBe('running');
    expect((await store.stats()).byStatus).toMatchObject({ queued: 1, running: 1, dead_letter: 1, assigned: 0 });
    expect((await store.verifyIntegrity()).ok).toBe(true);
  });

  it('queues delayed and backed-off tasks that came due while closed', async () => {
    const delayed = (await h.store.create(spec('delayed', { run_at: h.clock.t + 1000 }), 'c')).task;
    await h.store.create(spec('flaky'), 'c');
    const t = await leaseAndAccept(h.store, A0);
    await h.store.fail(t.id, t.generation, 'a0', { code: 'E', message: 'e' });
    await h.store.close();
    h.clock.advance(600_000);
    const store = await h.reopen();
    expect((await store.get(delayed.id))!.status).toBe('queued');
    expect((await store.get(t.id))!.status).toBe('queued');
  });

  it('continues ids after the existing ones, even if the clock went back', async () => {
    const before = (await h.store.create(spec('a'), 'c')).task;
    const lastEvent = (await h.store.events({})).items.pop()!;
    await h.store.close();
    h.clock.advance(-60_000);
    const store = await h.reopen();
    const after = (await store.create(spec('b'), 'c')).task;
    expect(after.id > before.id).toBe(true);
    expect((await store.events({})).items.pop()!.id > lastEvent.id).toBe(true);
  });

  it('refuses operations after close with STORE_CLOSED', async () => {
    await h.store.close();
    await expectCode(h.store.create(spec('late'), 'c'), 'STORE_CLOSED');
    await h.store.close(); // closing twice is harmless
    await h.reopen();
  });
});

describe('verifyIntegrity', () => {
  it('is ok after a mixed workload, and reports the task count', async () => {
    const results = await h.store.createMany(
      [spec('a', { ref: 'a' }), spec('b', { depends_on: ['a'] }), spec('c', { idempotency_key: 'c' }), spec('d', { run_at: h.clock.t + 50 })],
      'c',
    );
    const a = await leaseAndAccept(h.store, A0);
    await h.store.complete(a.id, a.generation, 'a0', 'ok');
    const b = await leaseAndAccept(h.store, A0);
    await h.store.fail(b.id, b.generation, 'a0', { code: 'E', message: 'e' });
    await h.store.cancel(results[2]!.task.id, 'op');
    h.clock.advance(100);
    await h.store.sweep();
    const report = await h.store.verifyIntegrity();
    expect(report).toEqual({ ok: true, tasks: 4, problems: [] });
  });
});
