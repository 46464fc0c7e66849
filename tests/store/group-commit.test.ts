/**
 * The serial, group-committed write path: operations see each other's writes in order, are
 * batched together, fail alone when they throw, and fail together (STORE_DEGRADED, store degraded)
 * when their batch cannot be written. LevelDB only: it is about durable writes and a disk that
 * fails, so it runs on real LevelDB; the failing write is a real LevelDB write that a thin wrapper
 * refuses to pass on.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SwitchyardError } from '../../shared/errors.js';
import { GroupCommit } from '../../hub/store/group-commit.js';
import type { Kv, KvOp } from '../../hub/store/kv.js';
import { openLevelKv } from '../../hub/store/level-kv.js';
import { openKvTaskStore } from '../../hub/store/kv-task-store.js';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import { expectCode, FakeClock, makeTempDir, removeDir, spec } from '../support/queue-store.js';

/** Real LevelDB underneath; counts batch writes and can refuse the next one. */
class CountingKv implements Kv {
  writes = 0;
  failNext = false;
  constructor(private readonly inner: Kv) {}
  get(key: string) {
    return this.inner.get(key);
  }
  getMany(keys: string[]) {
    return this.inner.getMany(keys);
  }
  async write(ops: KvOp[], sync: boolean): Promise<void> {
    this.writes++;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    return this.inner.write(ops, sync);
  }
  keys(range: Parameters<Kv['keys']>[0], chunk?: number) {
    return this.inner.keys(range, chunk);
  }
  entries(range: Parameters<Kv['entries']>[0], chunk?: number) {
    return this.inner.entries(range, chunk);
  }
  snapshot() {
    return this.inner.snapshot();
  }
  compactRange(start: string, end: string) {
    return this.inner.compactRange(start, end);
  }
  close() {
    return this.inner.close();
  }
}

let dir: string;
let kv: CountingKv;
beforeEach(async () => {
  dir = await makeTempDir();
  kv = new CountingKv(await openLevelKv(dir));
});
afterEach(async () => {
  await kv.close().catch(() => undefined);
  await removeDir(dir);
});

describe('GroupCommit', () => {
  it('answers each operation only once its writes are on disk, and batches operations that arrive together', async () => {
    const gc = new GroupCommit(kv);
    const jobs = Array.from({ length: 100 }, (_, i) =>
      gc.submit(async (tx) => {
        tx.put(`k${i}`, `v${i}`);
        return i;
      }).then(async (n) => {
        // Resolved means durable: the key is in LevelDB itself, not only in memory.
        expect(await kv.get(`k${n}`)).toBe(`v${n}`);
        return n;
      }),
    );
    expect(await Promise.all(jobs)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(kv.writes).toBeLessThan(100);
    expect(kv.writes).toBeGreaterThan(0);
  });

  it('runs operations one at a time: each reads what the earlier ones wrote', async () => {
    const gc = new GroupCommit(kv);
    const bump = () =>
      gc.submit(async (tx) => {
        const n = Number((await tx.get('counter')) ?? '0');
        tx.put('counter', String(n + 1));
        return n + 1;
      });
    const results = await Promise.all(Array.from({ length: 50 }, bump));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await kv.get('counter')).toBe('50');
  });

  it('an operation that throws keeps none of its writes; the others of its group commit', async () => {
    const gc = new GroupCommit(kv);
    const ok1 = gc.submit(async (tx) => tx.put('a', '1'));
    const bad = gc.submit(async (tx) => {
      tx.put('b', '2');
      throw new SwitchyardError('VALIDATION_FAILED', 'no');
    });
    const ok2 = gc.submit(async (tx) => {
      expect(await tx.get('b')).toBeUndefined();
      tx.put('c', '3');
    });
    const [r1, r2, r3] = await Promise.allSettled([ok1, bad, ok2]);
    expect([r1.status, r2.status, r3.status]).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((r2 as PromiseRejectedResult).reason).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect([await kv.get('a'), await kv.get('b'), await kv.get('c')]).toEqual(['1', undefined, '3']);
  });

  it('a failed batch write fails every operation in it, and everything after, with STORE_DEGRADED (degraded mode)', async () => {
    const gc = new GroupCommit(kv);
    await gc.submit(async (tx) => tx.put('before', 'x'));
    kv.failNext = true;
    const lost = await Promise.allSettled([gc.submit(async (tx) => tx.put('lost1', 'x')), gc.submit(async (tx) => tx.put('lost2', 'x'))]);
    for (const r of lost) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'STORE_DEGRADED' } });
    await expect(gc.submit(async (tx) => tx.put('after', 'x'))).rejects.toMatchObject({ code: 'STORE_DEGRADED' });
    expect(gc.failed?.code).toBe('STORE_DEGRADED');
    expect([await kv.get('before'), await kv.get('lost1'), await kv.get('after')]).toEqual(['x', undefined, undefined]);
  });

  it('refuses work after close with STORE_CLOSED', async () => {
    const gc = new GroupCommit(kv);
    await gc.close();
    await expect(gc.submit(async () => 1)).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});

describe('the task store over a failing disk', () => {
  it('refuses everything once a write failed, reports unhealthy, and reopens from what is on disk', async () => {
    const clock = new FakeClock();
    const store = await openKvTaskStore(kv, { now: clock.now, autoSweep: false });
    expect(store.healthy()).toBe(true);
    const kept = (await store.create(spec('kept'), 'c')).task;
    kv.failNext = true;
    await expectCode(store.create(spec('lost'), 'c'), 'STORE_DEGRADED');
    expect(store.healthy()).toBe(false);
    await expectCode(store.cancel(kept.id, 'op'), 'STORE_DEGRADED');
    await store.close();
    expect(store.healthy()).toBe(false);

    const reopened = await openTaskStore(dir, { now: clock.now, autoSweep: false });
    try {
      expect(reopened.healthy()).toBe(true);
      const tasks = (await reopened.list({})).items;
      expect(tasks.map((t) => [t.title, t.status])).toEqual([['kept', 'queued']]);
      expect((await reopened.verifyIntegrity()).ok).toBe(true);
    } finally {
      await reopened.close();
    }
  });

  it('answers a lost write with a retryable SwitchyardError that names the cause', async () => {
    const store = await openKvTaskStore(kv, { autoSweep: false });
    kv.failNext = true;
    const err = await expectCode(store.create(spec('lost'), 'c'), 'STORE_DEGRADED');
    expect(err).toBeInstanceOf(SwitchyardError);
    expect(err.message).toContain('disk full');
    // Retryable: once the disk takes writes again (by itself), the same request can succeed; senders keep it.
    expect(err.retryable).toBe(true);
    await store.close();
  });
});
