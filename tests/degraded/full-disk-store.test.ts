/**
 * Degraded mode on a real full disk: the LevelDB task store on a small tmpfs, filled to the last
 * byte. A batch that cannot be written fails every caller in it with STORE_DEGRADED (reason
 * disk_full) and nothing of it is kept, neither on disk nor in memory (the ready index, the record
 * cache); reads go on; new writes are refused at once; once space returns the store takes writes
 * again by itself, and a retried operation gives the answer it would have given the first time.
 */
import { describe, expect, it } from 'vitest';
import type { DegradedState } from '../../hub/store/group-commit.js';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import type { KvTaskStore } from '../../hub/store/kv-task-store.js';
import { closeAfterEach } from '../support/cleanup.js';
import { waitFor } from '../support/processes.js';
import { expectCode, spec } from '../support/queue-store.js';
import { tmpfsAfterEach } from '../support/tmpfs.js';

const mount = tmpfsAfterEach();
const track = closeAfterEach();
const big = (title: string) => spec(title, { description: 'x'.repeat(60_000) });

async function openOn(dir: string): Promise<{ store: KvTaskStore; heard: Array<DegradedState | null> }> {
  const store = track(await openTaskStore(`${dir}/store`, { probeMinMs: 50, autoSweep: false }));
  const heard: Array<DegradedState | null> = [];
  store.onHealth((s) => heard.push(s));
  return { store, heard };
}

describe('the task store on a full disk', () => {
  it('fails the whole batch with STORE_DEGRADED disk_full, keeps serving reads, and takes writes again by itself once space returns', async () => {
    const fs = await mount(16 * 1024);
    const { store, heard } = await openOn(fs.dir);
    const kept = (await store.create(spec('kept', { idempotency_key: 'kept' }), 'test')).task;
    const queued = (await store.create(spec('to lease'), 'test')).task;

    await fs.fill(0);
    // One group: a lease (of `kept`, the oldest queued) and a batch too big for what is left. Both are in the batch
    // that fails, so the lease's in-memory effects (the ready index, the record cache) were
    // applied before the write failed, and must be undone.
    const lease = store.leaseNext({ agentId: 'a1', capabilities: [] });
    const batch = store.createMany([big('lost 1'), big('lost 2'), big('lost 3'), { ...big('lost 4'), idempotency_key: 'retry-me' }], 'test');
    const leaseErr = await expectCode(lease, 'STORE_DEGRADED');
    const batchErr = await expectCode(batch, 'STORE_DEGRADED');
    expect(batchErr.details).toMatchObject({ reason: 'disk_full', needs_ack: false });
    expect(leaseErr.retryable).toBe(true);
    expect(store.healthy()).toBe(false);
    expect(store.degraded()).toMatchObject({ reason: 'disk_full', needsAck: false });

    // Degraded: writes refused at once, reads answered from disk.
    await expectCode(store.cancel(kept.id, 'op'), 'STORE_DEGRADED');
    expect((await store.get(kept.id))?.status).toBe('queued');
    expect((await store.get(queued.id))?.status).toBe('queued');
    expect((await store.list({})).items.map((t) => t.title).sort()).toEqual(['kept', 'to lease']);
    // The counts follow the disk too: the failed lease is not counted.
    await waitFor('the counts resynced from disk', async () => (await store.stats()).queued.normal === 2);
    expect((await store.stats()).byStatus).toMatchObject({ assigned: 0 });

    // Still full: the probe keeps failing and the store stays degraded.
    await new Promise((r) => setTimeout(r, 300));
    expect(store.healthy()).toBe(false);

    await fs.free();
    await waitFor('the store to take writes again', () => store.healthy());
    expect(heard.at(0)).toMatchObject({ reason: 'disk_full' });
    expect(heard.at(-1)).toBeNull();

    // The lease that failed never happened: the same task is leased now, at its first generation.
    const leased = await store.leaseNext({ agentId: 'a1', capabilities: [] });
    expect(leased).toMatchObject({ id: kept.id, status: 'assigned', generation: 1 });
    // The batch that failed is written once when sent again, and its idempotency key is free.
    const retried = await store.createMany([big('lost 1'), big('lost 2'), big('lost 3'), { ...big('lost 4'), idempotency_key: 'retry-me' }], 'test');
    expect(retried.map((r) => r.created)).toEqual([true, true, true, true]);
    const again = await store.create(spec('kept', { idempotency_key: 'kept' }), 'test');
    expect(again).toMatchObject({ created: false, task: { id: kept.id } });
    const stats = await store.stats();
    expect(stats.byStatus).toMatchObject({ assigned: 1 });
    expect(stats.queued).toMatchObject({ normal: 5 });
    expect((await store.verifyIntegrity()).ok).toBe(true);
  });

  it('keeps every acknowledged change across the failure and a reopen; none of the refused ones', async () => {
    const fs = await mount(16 * 1024);
    let { store } = await openOn(fs.dir);
    const acked: string[] = [];
    for (let i = 0; i < 5; i++) acked.push((await store.create(spec(`before ${i}`), 'test')).task.id);
    await fs.fill(0);
    // Small writes until the disk refuses one (LevelDB's log may have a few bytes of its last page left).
    const refused: string[] = [];
    for (let i = 0; i < 500 && store.healthy(); i++) {
      try {
        acked.push((await store.create(spec(`during ${i}`, { description: 'y'.repeat(2000) }), 'test')).task.id);
      } catch (err) {
        expect(err).toMatchObject({ code: 'STORE_DEGRADED' });
        refused.push(`during ${i}`);
      }
    }
    expect(refused).toHaveLength(1);
    await fs.free();
    await waitFor('the store to take writes again', () => store.healthy());
    acked.push((await store.create(spec('after'), 'test')).task.id);
    await store.close();

    ({ store } = await openOn(fs.dir));
    const titles = (await store.list({ limit: 1000 })).items.map((t) => t.title);
    expect((await store.list({ limit: 1000 })).items.map((t) => t.id).sort()).toEqual([...acked].sort());
    expect(titles).not.toContain(refused[0]);
    expect((await store.verifyIntegrity()).ok).toBe(true);
  });
});
