/**
 * The task store's logger: a failure nobody awaits (a listener that throws, a sweep its own timer
 * started) is logged with its error, never swallowed, and does not stop the store. Runs on the
 * in-memory Kv, with a thin wrapper that can refuse the next batch write (a disk that fails).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Kv, KvOp } from '../../hub/store/kv.js';
import type { KvTaskStore } from '../../hub/store/kv-task-store.js';
import { MemoryKv } from '../../hub/store/memory-kv.js';
import { openMemoryTaskStore } from '../../hub/store/memory-task-store.js';
import { createLogger } from '../../shared/logger.js';
import { waitFor } from '../support/hub-inproc.js';

class FailingKv extends MemoryKv {
  failNext = false;
  override async write(ops: KvOp[], sync: boolean): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    return super.write(ops, sync);
  }
}

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('store', 'info', { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

let store: KvTaskStore | null = null;
afterEach(async () => {
  await store?.close();
  store = null;
});

describe('the task store logger', () => {
  it('logs a listener that throws; the change stands and the other listeners hear it', async () => {
    const { logger, lines } = capture();
    store = await openMemoryTaskStore({ logger, autoSweep: false });
    const heard: string[] = [];
    store.onChange(() => {
      throw new Error('listener bug');
    });
    store.onChange((c) => heard.push(c.task.id));
    store.onApplied!(() => {
      throw new Error('applied listener bug');
    });
    const { task } = await store.create({ title: 't' }, 'test');
    expect(heard).toEqual([task.id]);
    expect((await store.get(task.id))?.status).toBe('queued');
    const logged = lines.filter((l) => l.level === 50);
    expect(logged.map((l) => [l.msg, (l.err as { message: string }).message, l.task_id])).toEqual([
      ['a task store onApplied listener threw', 'applied listener bug', task.id],
      ['a task store onChange listener threw', 'listener bug', task.id],
    ]);
  });

  it('logs a sweep its timer started that failed, once: a degraded store does not re-arm the timer', async () => {
    const { logger, lines } = capture();
    const kv = new FailingKv();
    store = await openMemoryTaskStore({ logger }, kv as MemoryKv & Kv);
    await store.createMany([{ title: 'short offer', timeouts: { start_ms: 20 } }, { title: 'later offer', timeouts: { start_ms: 60 } }], 'test');
    await store.leaseNext({ agentId: 'a', capabilities: [] });
    await store.leaseNext({ agentId: 'a', capabilities: [] });
    kv.failNext = true; // the sweep that requeues the first expired offer cannot write
    await waitFor(() => lines.some((l) => l.msg === 'sweeping expired leases and due tasks failed'), 'the sweep failure logged');
    const failure = lines.find((l) => l.msg === 'sweeping expired leases and due tasks failed')!;
    expect(failure).toMatchObject({ level: 50, err: { code: 'STORE_DEGRADED' } });
    expect(store.healthy()).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    // Once each: the failed sweep, and the store entering degraded mode.
    expect(lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual(['the task store takes no writes: degraded mode', 'sweeping expired leases and due tasks failed']);
  });
});
