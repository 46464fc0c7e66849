/**
 * Dependencies: by id and by `ref` inside a batch, refusals that write nothing, release of
 * dependants, and the documented policy for failed and cancelled dependencies.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Task } from '../../shared/task.js';
import { A0, expectCode, leaseAndAccept, openTestStore, snapshot, spec, type TestStore } from '../support/queue-store.js';

let h: TestStore;
beforeEach(async () => {
  h = await openTestStore();
});
afterEach(async () => {
  await h.dispose();
});

const status = async (t: Task) => (await h.store.get(t.id))!.status;

/** Leases `t` (by id), accepts it, and returns the running task. */
async function run(t: Task): Promise<Task> {
  const leased = await h.store.leaseTask(t.id, A0);
  if (!leased) throw new Error(`could not lease ${t.title}`);
  return h.store.accept(t.id, leased.generation, 'a0');
}

async function finish(t: Task): Promise<Task> {
  const r = await run(t);
  return h.store.complete(r.id, r.generation, 'a0', 'done');
}

async function deadLetter(t: Task): Promise<Task> {
  const r = await run(t);
  return h.store.fail(r.id, r.generation, 'a0', { code: 'BROKEN', message: 'broken', retryable: false });
}

describe('creating with dependencies', () => {
  it('waits in pending until every dependency completed, then queues', async () => {
    const [a, b] = (await h.store.createMany([spec('a'), spec('b')], 'test')).map((r) => r.task);
    const c = (await h.store.create(spec('c', { depends_on: [a!.id, b!.id] }), 'test')).task;
    expect(c).toMatchObject({ status: 'pending', depends_on: [a!.id, b!.id], next_run_at: null });
    expect((await h.store.get(a!.id))!.dependants).toEqual([c.id]);
    await finish(a!);
    expect(await status(c)).toBe('pending');
    await finish(b!);
    expect(await status(c)).toBe('queued');
    const last = (await h.store.events({ taskId: c.id })).items.pop()!;
    expect(last).toMatchObject({ from: 'pending', to: 'queued', reason: 'dependencies completed' });
  });

  it('a dependency already completed does not hold the task back', async () => {
    const a = await finish((await h.store.create(spec('a'), 'test')).task);
    const b = (await h.store.create(spec('b', { depends_on: [a.id] }), 'test')).task;
    expect(b.status).toBe('queued');
    const parent = (await h.store.get(a.id))!;
    expect(parent.dependant_count).toBe(0);
    expect(parent.dependants).toBeUndefined();
  });

  it('resolves refs inside a batch, in any order, to the new ids', async () => {
    const results = await h.store.createMany(
      [
        spec('deploy', { ref: 'deploy', depends_on: ['test', 'build'] }),
        spec('test', { ref: 'test', depends_on: ['build'] }),
        spec('build', { ref: 'build' }),
      ],
      'test',
    );
    const [deploy, test, build] = results.map((r) => r.task);
    expect(results.every((r) => r.created)).toBe(true);
    expect(build!.status).toBe('queued');
    expect(test!).toMatchObject({ status: 'pending', depends_on: [build!.id] });
    expect(deploy!.depends_on).toEqual([test!.id, build!.id]);
    // The records returned carry the dependants added by later tasks of the batch.
    expect(build!.dependants!.sort()).toEqual([deploy!.id, test!.id].sort());
    await finish(build!);
    expect(await status(test!)).toBe('queued');
    expect(await status(deploy!)).toBe('pending');
    await finish(test!);
    expect(await status(deploy!)).toBe('queued');
  });

  it('mixes refs and existing ids', async () => {
    const old = (await h.store.create(spec('old'), 'test')).task;
    const [x] = await h.store.createMany([spec('x', { depends_on: [old.id, 'y'] }), spec('y', { ref: 'y' })], 'test');
    expect(x!.task.depends_on[0]).toBe(old.id);
    expect(x!.task.depends_on).toHaveLength(2);
  });

  it('an unknown dependency -> UNKNOWN_DEPENDENCY, and nothing of the batch is written', async () => {
    await h.store.create(spec('existing'), 'test');
    const before = await snapshot(h.store);
    const err = await expectCode(
      h.store.createMany([spec('fine', { ref: 'f' }), spec('orphan', { depends_on: ['f', '01NOSUCHTASK00000000000000'] })], 'test'),
      'UNKNOWN_DEPENDENCY',
    );
    expect(err.details).toEqual({ dependency: '01NOSUCHTASK00000000000000' });
    expect(await snapshot(h.store)).toEqual(before);
    expect((await h.store.stats()).queued.normal).toBe(1);
    expect((await h.store.verifyIntegrity()).ok).toBe(true);
  });

  it('a ref that names no task of the batch is an unknown dependency', async () => {
    await expectCode(h.store.createMany([spec('a', { depends_on: ['nope'] })], 'test'), 'UNKNOWN_DEPENDENCY');
  });

  it('a cycle inside a batch -> DEPENDENCY_CYCLE naming it, and nothing is written', async () => {
    await h.store.create(spec('existing'), 'test');
    const before = await snapshot(h.store);
    const err = await expectCode(
      h.store.createMany(
        [
          spec('a', { ref: 'a', depends_on: ['c'] }),
          spec('b', { ref: 'b', depends_on: ['a'] }),
          spec('c', { ref: 'c', depends_on: ['b'] }),
          spec('free', { ref: 'free' }),
        ],
        'test',
      ),
      'DEPENDENCY_CYCLE',
    );
    expect((err.details as { cycle: string[] }).cycle).toEqual(['a', 'c', 'b', 'a']);
    await expectCode(h.store.createMany([spec('self', { ref: 's', depends_on: ['s'] })], 'test'), 'DEPENDENCY_CYCLE');
    expect(await snapshot(h.store)).toEqual(before);
  });

  it('depending on a cancelled or dead-lettered task -> DEPENDENCY_FAILED, nothing written', async () => {
    const cancelled = await h.store.cancel((await h.store.create(spec('c'), 'test')).task.id, 'op');
    const dead = await deadLetter((await h.store.create(spec('d'), 'test')).task);
    const before = await snapshot(h.store);
    for (const dep of [cancelled, dead]) {
      const err = await expectCode(h.store.create(spec('late', { depends_on: [dep.id] }), 'test'), 'DEPENDENCY_FAILED');
      expect(err.details).toEqual({ dependency: dep.id, status: dep.status });
    }
    expect(await snapshot(h.store)).toEqual(before);
  });
});

describe('the failure policy', () => {
  /** a <- b <- c (c needs b, b needs a), plus d needing a, all waiting on a. */
  async function chain(): Promise<Record<'a' | 'b' | 'c' | 'd', Task>> {
    const [a, b, c, d] = (
      await h.store.createMany(
        [spec('a', { ref: 'a' }), spec('b', { ref: 'b', depends_on: ['a'] }), spec('c', { depends_on: ['b'] }), spec('d', { depends_on: ['a'] })],
        'test',
      )
    ).map((r) => r.task);
    return { a: a!, b: b!, c: c!, d: d! };
  }

  it('a dead-lettered dependency dead-letters its waiting dependants, transitively, with DEPENDENCY_FAILED', async () => {
    const { a, b, c, d } = await chain();
    await deadLetter(a);
    for (const t of [b, c, d]) {
      const now = (await h.store.get(t.id))!;
      expect(now.status).toBe('dead_letter');
      expect(now.last_error!.code).toBe('DEPENDENCY_FAILED');
      expect(now.attempts).toBe(0);
    }
    expect((await h.store.get(c.id))!.last_error!.details).toEqual({ dependency: b.id });
    const last = (await h.store.events({ taskId: c.id })).items.pop()!;
    expect(last).toMatchObject({ from: 'pending', to: 'dead_letter', reason: `dependency ${b.id} is dead_letter` });
  });

  it('a dependant dead-lettered by the sweeper (lease expiry, out of attempts) cascades too', async () => {
    const a = (await h.store.create(spec('a', { max_attempts: 1 }), 'test')).task;
    const b = (await h.store.create(spec('b', { depends_on: [a.id] }), 'test')).task;
    await run(a);
    h.clock.advance(a.timeouts.lease_ms);
    await h.store.sweep();
    expect(await status(a)).toBe('dead_letter');
    expect(await status(b)).toBe('dead_letter');
  });

  it('retrying the failed dependency revives its dependants, which wait again', async () => {
    const { a, b, c, d } = await chain();
    await deadLetter(a);
    const back = await h.store.retry(a.id, 'operator');
    expect(back.status).toBe('queued');
    for (const t of [b, c, d]) expect(await status(t)).toBe('pending');
    await finish(a);
    expect(await status(b)).toBe('queued');
    expect(await status(d)).toBe('queued');
    await finish(b);
    expect(await status(c)).toBe('queued');
    expect((await h.store.verifyIntegrity()).ok).toBe(true);
  });

  it('retrying a dependant while its dependency is still dead-lettered -> DEPENDENCY_FAILED, nothing written', async () => {
    const { a, b } = await chain();
    await deadLetter(a);
    const before = await snapshot(h.store);
    const err = await expectCode(h.store.retry(b.id, 'operator'), 'DEPENDENCY_FAILED');
    expect(err.details).toEqual({ dependency: a.id, status: 'dead_letter' });
    expect(await snapshot(h.store)).toEqual(before);
  });

  it('with two failed dependencies, a dependant revives only when both are retried', async () => {
    const [x, y, z] = (
      await h.store.createMany([spec('x', { ref: 'x' }), spec('y', { ref: 'y' }), spec('z', { depends_on: ['x', 'y'] })], 'test')
    ).map((r) => r.task);
    await deadLetter(x!);
    await deadLetter(y!);
    await h.store.retry(x!.id, 'operator');
    expect(await status(z!)).toBe('dead_letter');
    expect((await h.store.get(z!.id))!.last_error!.details).toEqual({ dependency: y!.id });
    await h.store.retry(y!.id, 'operator');
    expect(await status(z!)).toBe('pending');
    await finish(x!);
    await finish(y!);
    expect(await status(z!)).toBe('queued');
  });

  it('a cancelled dependency cancels its waiting dependants, transitively', async () => {
    const { a, b, c, d } = await chain();
    await h.store.cancel(a.id, 'operator', 'not needed');
    for (const t of [a, b, c, d]) expect(await status(t)).toBe('cancelled');
    const last = (await h.store.events({ taskId: c.id })).items.pop()!;
    expect(last).toMatchObject({ from: 'pending', to: 'cancelled', reason: `dependency ${b.id} is cancelled`, actor: 'operator' });
  });

  it('cancelling a dead-lettered dependency cancels the dependants it blocked', async () => {
    const { a, b, c } = await chain();
    await deadLetter(a);
    await h.store.cancel(a.id, 'operator');
    expect(await status(b)).toBe('cancelled');
    expect(await status(c)).toBe('cancelled');
  });

  it('a dependant that failed on its own is not touched by the policy', async () => {
    const a = (await h.store.create(spec('a'), 'test')).task;
    const b = (await h.store.create(spec('b', { depends_on: [a.id] }), 'test')).task;
    await finish(a);
    await deadLetter(b);
    expect((await h.store.get(b.id))!.last_error!.code).toBe('BROKEN');
  });

  it('completed dependants stay completed when a sibling dependency is cancelled later', async () => {
    const a = (await h.store.create(spec('a'), 'test')).task;
    const other = (await h.store.create(spec('other'), 'test')).task;
    const b = (await h.store.create(spec('b', { depends_on: [a.id] }), 'test')).task;
    await finish(a);
    await finish(b);
    await h.store.cancel(other.id, 'operator');
    expect(await status(b)).toBe('completed');
  });
});

describe('leases and dependants together', () => {
  it('a queued dependant is leased like any other task', async () => {
    const a = (await h.store.create(spec('a'), 'test')).task;
    const b = (await h.store.create(spec('b', { depends_on: [a.id] }), 'test')).task;
    await finish(a);
    const got = await leaseAndAccept(h.store, A0);
    expect(got.id).toBe(b.id);
  });
});
