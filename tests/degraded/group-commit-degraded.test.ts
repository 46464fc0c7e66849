/**
 * The serial path's degraded mode, on a Kv whose writes fail at will: a failed batch drops its
 * writes from the read-your-writes overlay, refuses new work at once with STORE_DEGRADED, probes
 * on a backoff until a write succeeds, resyncs the store's memory before it takes work again, and
 * says each change; an operator's hold is never probed away and ends only with release().
 */
import { describe, expect, it } from 'vitest';
import { GroupCommit, reasonOf, type DegradedState } from '../../hub/store/group-commit.js';
import { K } from '../../hub/store/keys.js';
import type { Kv, KvOp } from '../../hub/store/kv.js';
import { MemoryKv } from '../../hub/store/memory-kv.js';
import { waitFor } from '../support/processes.js';

/** A real in-memory Kv whose writes can be made to fail; counts probe writes and recoveries. */
class FlakyKv extends MemoryKv implements Kv {
  failing = false;
  probes = 0;
  recoveries = 0;
  async recover(): Promise<void> {
    this.recoveries++;
  }
  override async write(ops: KvOp[], sync: boolean): Promise<void> {
    if (ops.some((op) => op.key === K.probe)) this.probes++;
    if (this.failing) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return super.write(ops, sync);
  }
}

function setup(resync?: () => Promise<void>) {
  const kv = new FlakyKv();
  const heard: Array<DegradedState | null> = [];
  const gc = new GroupCommit(kv, { maxGroupOps: 4000, probeMinMs: 10, probeMaxMs: 40, onHealth: (s) => heard.push(s), ...(resync ? { resync } : {}) });
  return { kv, gc, heard };
}

describe('degraded mode on the serial path', () => {
  it('refuses the failed batch and new work, forgets the batch writes, and takes work again once a probe write succeeds', async () => {
    let resyncs = 0;
    const { kv, gc, heard } = setup(async () => void resyncs++);
    await gc.submit(async (tx) => tx.put('t!kept', '1'));
    kv.failing = true;
    const lost = gc.submit(async (tx) => tx.put('t!lost', '2'));
    await expect(lost).rejects.toMatchObject({ code: 'STORE_DEGRADED', details: { reason: 'disk_full', needs_ack: false } });
    // Not on disk, and not visible to later operations either.
    expect(await gc.read('t!lost')).toBeUndefined();
    expect(await gc.read('t!kept')).toBe('1');
    await expect(gc.submit(async (tx) => tx.put('t!new', '3'))).rejects.toMatchObject({ code: 'STORE_DEGRADED' });
    expect(gc.degraded).toMatchObject({ reason: 'disk_full', needsAck: false });

    await waitFor('two failed probes', () => kv.probes >= 2);
    expect(gc.degraded).not.toBeNull();
    expect(resyncs).toBe(1); // the one right after the failure, so reads meanwhile follow the disk
    kv.failing = false;
    await waitFor('writes taken again', () => gc.degraded === null);
    expect(resyncs).toBe(2);
    expect(kv.recoveries).toBeGreaterThanOrEqual(3);
    await gc.submit(async (tx) => tx.put('t!after', '4'));
    expect(await kv.get('t!after')).toBe('4');
    expect(heard.map((s) => s?.reason ?? null)).toEqual(['disk_full', null]);
  });

  it('stays degraded while the resync fails, and retries it', async () => {
    let fail = true;
    const { kv, gc } = setup(async () => {
      if (fail) throw new Error('EIO reading the indexes');
    });
    kv.failing = true;
    await expect(gc.submit(async (tx) => tx.put('t!x', '1'))).rejects.toMatchObject({ code: 'STORE_DEGRADED' });
    kv.failing = false;
    await waitFor('a probe write that succeeded', () => kv.probes >= 2);
    expect(gc.degraded).toMatchObject({ reason: 'write_failed' });
    fail = false;
    await waitFor('writes taken again', () => gc.degraded === null);
  });

  it('an operator hold refuses work, is not probed away, and ends with release()', async () => {
    const { kv, gc, heard } = setup();
    gc.hold('restore_lost_data', 'restored a backup');
    await expect(gc.submit(async (tx) => tx.put('t!x', '1'))).rejects.toMatchObject({
      code: 'STORE_DEGRADED',
      details: { reason: 'restore_lost_data', needs_ack: true },
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(kv.probes).toBe(0);
    expect(gc.degraded).toMatchObject({ needsAck: true });
    await gc.release();
    expect(gc.degraded).toBeNull();
    await gc.submit(async (tx) => tx.put('t!x', '1'));
    expect(heard.map((s) => s?.reason ?? null)).toEqual(['restore_lost_data', null]);
  });

  it('a hold that comes while a group waits behind a batch being written: the batch lands, the group is refused, nobody hangs', async () => {
    let resyncs = 0;
    const { kv, gc } = setup(async () => void resyncs++);
    let land!: () => void;
    const slow = new Promise<void>((r) => (land = r));
    const write = kv.write.bind(kv);
    kv.write = async (ops, sync) => {
      await slow;
      return write(ops, sync);
    };
    const first = gc.submit(async (tx) => tx.put('t!first', '1'));
    await new Promise((r) => setImmediate(r));
    const behind = gc.submit(async (tx) => tx.put('t!behind', '2'));
    await new Promise((r) => setImmediate(r));
    gc.hold('restore_lost_data', 'restored a backup');
    land();
    await expect(first).resolves.toBeUndefined();
    await expect(behind).rejects.toMatchObject({ code: 'STORE_DEGRADED', details: { needs_ack: true } });
    expect([await kv.get('t!first'), await kv.get('t!behind')]).toEqual(['1', undefined]);
    expect(resyncs).toBe(1);
  });

  it('stops probing when closed', async () => {
    const { kv, gc } = setup();
    kv.failing = true;
    await expect(gc.submit(async (tx) => tx.put('t!x', '1'))).rejects.toMatchObject({ code: 'STORE_DEGRADED' });
    await gc.close();
    const probes = kv.probes;
    await new Promise((r) => setTimeout(r, 100));
    expect(kv.probes).toBe(probes);
    await expect(gc.submit(async () => 1)).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });

  it('names a full disk from the error LevelDB gives', () => {
    expect(reasonOf(Object.assign(new Error('IO error: /x/000003.log: No space left on device'), { code: 'LEVEL_IO_ERROR' }))).toBe('disk_full');
    expect(reasonOf(new Error('IO error: /x/000003.log: Input/output error'))).toBe('write_failed');
  });
});
