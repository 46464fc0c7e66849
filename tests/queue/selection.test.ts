/**
 * Which task an agent gets: priority lanes, FIFO within a lane, the anti-starvation rule,
 * capability and repo matching, and direct delegation.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Task } from '../../shared/task.js';
import { A0, agent, leaseAndAccept, openTestStore, spec, type TestStore } from '../support/queue-store.js';

let h: TestStore;
afterEach(async () => {
  await h.dispose();
});

async function titlesLeased(who = A0, count = 10): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const t = await h.store.leaseNext(who);
    if (!t) break;
    out.push(t.title);
  }
  return out;
}

describe('priority lanes and FIFO', () => {
  beforeEach(async () => {
    h = await openTestStore({ starvationMs: 600_000 });
  });

  it('serves urgent, then high, normal, low, whatever the order of creation', async () => {
    for (const lane of ['low', 'normal', 'high', 'urgent'] as const) {
      h.clock.advance(10);
      await h.store.create(spec(lane, { lane }), 'test');
    }
    expect(await titlesLeased()).toEqual(['urgent', 'high', 'normal', 'low']);
  });

  it('defaults to the normal lane', async () => {
    await h.store.create(spec('low', { lane: 'low' }), 'test');
    h.clock.advance(1);
    const t = (await h.store.create(spec('default'), 'test')).task;
    expect(t.lane).toBe('normal');
    expect(await titlesLeased()).toEqual(['default', 'low']);
  });

  it('serves one lane first in, first out, across tasks with different requirements', async () => {
    const names = ['first', 'second', 'third', 'fourth'];
    const kinds = [{}, { repo: 'web' }, { capabilities: ['gpu'] }, {}];
    for (let i = 0; i < names.length; i++) {
      h.clock.advance(5);
      await h.store.create(spec(names[i]!, kinds[i]), 'test');
    }
    expect(await titlesLeased(agent('all', ['gpu']))).toEqual(names);
  });

  it('orders tasks queued in the same millisecond by id (creation order)', async () => {
    const results = await h.store.createMany([spec('a'), spec('b'), spec('c')], 'test');
    const ids = results.map((r) => r.task.id);
    expect([...ids].sort()).toEqual(ids);
    expect(await titlesLeased()).toEqual(['a', 'b', 'c']);
  });

  it('puts a released task at the back of its lane (queued_at is reset)', async () => {
    await h.store.create(spec('a'), 'test');
    h.clock.advance(1);
    await h.store.create(spec('b'), 'test');
    h.clock.advance(1);
    const a = (await h.store.leaseNext(A0))!;
    expect(a.title).toBe('a');
    h.clock.advance(1);
    const back = await h.store.release(a.id, a.generation, 'a0', 'not now');
    expect(back.queued_at).toBe(h.clock.t);
    expect(await titlesLeased()).toEqual(['b', 'a']);
  });
});

describe('anti-starvation', () => {
  const STARVE = 60_000;
  beforeEach(async () => {
    h = await openTestStore({ starvationMs: STARVE });
  });

  it('serves a low task that waited longer than starvationMs ahead of newer urgent work', async () => {
    await h.store.create(spec('old low', { lane: 'low' }), 'test');
    h.clock.advance(STARVE + 1);
    await h.store.create(spec('new urgent', { lane: 'urgent' }), 'test');
    expect(await titlesLeased()).toEqual(['old low', 'new urgent']);
  });

  it('does not apply at exactly starvationMs (it must be longer)', async () => {
    await h.store.create(spec('old low', { lane: 'low' }), 'test');
    h.clock.advance(STARVE);
    await h.store.create(spec('new urgent', { lane: 'urgent' }), 'test');
    expect(await titlesLeased()).toEqual(['new urgent', 'old low']);
  });

  it('serves the longest-waiting starving task first, whatever the lanes', async () => {
    await h.store.create(spec('oldest normal', { lane: 'normal' }), 'test');
    h.clock.advance(10);
    await h.store.create(spec('older high', { lane: 'high' }), 'test');
    h.clock.advance(10);
    await h.store.create(spec('old urgent', { lane: 'urgent' }), 'test');
    h.clock.advance(STARVE + 1);
    await h.store.create(spec('fresh urgent', { lane: 'urgent' }), 'test');
    // The first three all starve now (oldest first); then the fresh one.
    expect(await titlesLeased()).toEqual(['oldest normal', 'older high', 'old urgent', 'fresh urgent']);
  });

  it('only weighs tasks the agent can run', async () => {
    await h.store.create(spec('old gpu', { lane: 'low', capabilities: ['gpu'] }), 'test');
    h.clock.advance(STARVE + 1);
    await h.store.create(spec('new urgent', { lane: 'urgent' }), 'test');
    expect(await titlesLeased(agent('cpu-only'))).toEqual(['new urgent']);
  });
});

describe('capability and repo matching', () => {
  beforeEach(async () => {
    h = await openTestStore();
  });

  it('gives an agent only tasks whose capabilities it has, all of them', async () => {
    await h.store.create(spec('needs gpu+rust', { capabilities: ['rust', 'gpu'] }), 'test');
    await h.store.create(spec('needs gpu', { capabilities: ['gpu'] }), 'test');
    expect(await titlesLeased(agent('rusty', ['rust']))).toEqual([]);
    expect(await titlesLeased(agent('gpu', ['gpu']))).toEqual(['needs gpu']);
    expect(await titlesLeased(agent('both', ['gpu', 'rust', 'docker']))).toEqual(['needs gpu+rust']);
  });

  it('gives tasks with no capabilities to any agent', async () => {
    await h.store.create(spec('plain'), 'test');
    expect(await titlesLeased(agent('gpu', ['gpu']))).toEqual(['plain']);
  });

  it('gives a task with a repo only to agents having that repo; repos null means any repo', async () => {
    await h.store.create(spec('in web', { repo: 'web' }), 'test');
    await h.store.create(spec('in api', { repo: 'api' }), 'test');
    expect(await titlesLeased(agent('none', [], []))).toEqual([]);
    expect(await titlesLeased(agent('api-only', [], ['api', 'docs']))).toEqual(['in api']);
    expect(await titlesLeased(agent('anything', [], null))).toEqual(['in web']);
  });

  it('gives a task without a repo to an agent with a repo list', async () => {
    await h.store.create(spec('anywhere'), 'test');
    expect(await titlesLeased(agent('web-only', [], ['web']))).toEqual(['anywhere']);
  });

  it('applies the same rules to leaseTask (a targeted lease cannot bypass them)', async () => {
    const gpu = (await h.store.create(spec('gpu', { capabilities: ['gpu'] }), 'test')).task;
    const web = (await h.store.create(spec('web', { repo: 'web' }), 'test')).task;
    const mine = (await h.store.create(spec('for b', { agent: 'b' }), 'test')).task;
    expect(await h.store.leaseTask(gpu.id, agent('x'))).toBeNull();
    expect(await h.store.leaseTask(web.id, agent('x', [], ['api']))).toBeNull();
    expect(await h.store.leaseTask(mine.id, agent('x'))).toBeNull();
    expect((await h.store.get(mine.id))!.status).toBe('queued');
    expect((await h.store.leaseTask(gpu.id, agent('g', ['gpu'])))!.status).toBe('assigned');
    expect((await h.store.leaseTask(mine.id, agent('b')))!.lease!.agent_id).toBe('b');
    expect(await h.store.leaseTask('01NOSUCHTASK00000000000000', agent('b'))).toBeNull();
  });

  it('skips tasks the caller excludes (tasks this agent rejected)', async () => {
    const a = (await h.store.create(spec('a'), 'test')).task;
    await h.store.create(spec('b'), 'test');
    const got = await h.store.leaseNext({ ...A0, exclude: new Set([a.id]) });
    expect(got!.title).toBe('b');
    expect(await h.store.leaseNext({ ...A0, exclude: new Set([a.id]) })).toBeNull();
    expect((await h.store.leaseNext(A0))!.title).toBe('a');
  });
});

describe('direct delegation', () => {
  let t: Task;
  beforeEach(async () => {
    h = await openTestStore();
    t = (await h.store.create(spec('for alice', { agent: 'alice' }), 'test')).task;
    expect(t.delegate).toBe('alice');
  });

  it('only the named agent can lease the task', async () => {
    expect(await h.store.leaseNext(agent('bob'))).toBeNull();
    const leased = await h.store.leaseNext(agent('alice'));
    expect(leased!.id).toBe(t.id);
  });

  it('once the agent rejects it with release(), anyone can', async () => {
    const leased = (await h.store.leaseNext(agent('alice')))!;
    const back = await h.store.release(leased.id, leased.generation, 'alice', 'busy');
    expect(back.delegate).toBeNull();
    expect(back.agent).toBe('alice'); // the original request is kept
    expect((await h.store.leaseNext(agent('bob')))!.id).toBe(t.id);
  });

  it('once the agent lets the assignment time out, anyone can', async () => {
    await h.store.leaseNext(agent('alice'));
    h.clock.advance(t.timeouts.start_ms);
    expect(await h.store.sweep()).toBe(1);
    const back = (await h.store.get(t.id))!;
    expect(back.status).toBe('queued');
    expect(back.delegate).toBeNull();
    expect((await h.store.leaseNext(agent('bob')))!.id).toBe(t.id);
  });

  it('stays reserved while the named agent works on it and retries it', async () => {
    const running = await leaseAndAccept(h.store, agent('alice'));
    await h.store.fail(running.id, running.generation, 'alice', { code: 'FLAKY', message: 'try again', retryable: true });
    await h.store.retry(t.id, 'operator');
    expect((await h.store.get(t.id))!.delegate).toBe('alice');
    expect(await h.store.leaseNext(agent('bob'))).toBeNull();
  });
});
