/**
 * After degraded mode ends, leases whose holders could not renew meanwhile get a grace before the
 * sweeper takes them back as expired; without one (grace 0) the same lease is taken back at once.
 */
import { describe, expect, it } from 'vitest';
import type { KvOp } from '../../hub/store/kv.js';
import { MemoryKv } from '../../hub/store/memory-kv.js';
import { openMemoryTaskStore } from '../../hub/store/memory-task-store.js';
import { closeAfterEach } from '../support/cleanup.js';
import { waitFor } from '../support/processes.js';
import { FakeClock } from '../support/queue-store.js';

class FlakyKv extends MemoryKv {
  failing = false;
  override async write(ops: KvOp[], sync: boolean): Promise<void> {
    if (this.failing) throw new Error('ENOSPC: no space left on device');
    return super.write(ops, sync);
  }
}

const track = closeAfterEach();

async function expiredDuringDegraded(recoveryGraceMs: number) {
  const clock = new FakeClock();
  const kv = new FlakyKv();
  const store = track(await openMemoryTaskStore({ now: clock.now, probeMinMs: 10, recoveryGraceMs }, kv));
  const task = (await store.create({ title: 'held', timeouts: { lease_ms: 60_000 } }, 'test')).task;
  const leased = (await store.leaseNext({ agentId: 'a1', capabilities: [] }))!;
  await store.accept(task.id, leased.generation, 'a1');
  clock.advance(40_000); // past half the lease: a renewal writes
  kv.failing = true;
  await expect(store.renew(task.id, leased.generation, 'a1')).rejects.toMatchObject({ code: 'STORE_DEGRADED' });
  clock.advance(60_000); // the lease ran out while nothing could be renewed
  kv.failing = false;
  await waitFor('writes taken again', () => store.healthy());
  return { store, task, leased };
}

describe('the recovery grace', () => {
  it('keeps an expired lease for the grace, so its holder can still renew it', async () => {
    const { store, task, leased } = await expiredDuringDegraded(60_000);
    await new Promise((r) => setTimeout(r, 200));
    expect((await store.get(task.id))?.status).toBe('running');
    const renewed = await store.renew(task.id, leased.generation, 'a1');
    expect(renewed).toMatchObject({ status: 'running', generation: leased.generation });
  });

  it('without a grace, the sweeper takes the lease back at once', async () => {
    const { store, task } = await expiredDuringDegraded(0);
    await waitFor('the lease taken back', async () => (await store.get(task.id))?.status !== 'running');
  });
});
