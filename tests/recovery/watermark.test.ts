/**
 * The watermark (hub/recovery/watermark.ts) against a real task store: it follows durable changes
 * only, is written off the hot path within its interval and at close, and the inspection compares
 * the store with it and with the newest backup's manifest (hub check's LOST WRITES).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inspectStores, lostWrites } from '../../hub/recovery/inspect.js';
import { readWatermark, WatermarkKeeper, writeWatermark } from '../../hub/recovery/watermark.js';
import { openLevelKv } from '../../hub/store/level-kv.js';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import type { KvTaskStore } from '../../hub/store/kv-task-store.js';
import { runCli, show } from '../support/cli-run.js';
import { ensureBuilt } from '../support/processes.js';
import { makeTempDir, removeDir } from '../support/queue-store.js';
import { waitFor } from '../support/processes.js';

const silent = pino({ level: 'silent' });
let dataDir: string;
let store: KvTaskStore | null;
beforeEach(async () => {
  dataDir = await makeTempDir('sy-watermark-');
  store = await openTaskStore(join(dataDir, 'tasks'), { autoSweep: false });
  await (await openLevelKv(join(dataDir, 'agents'))).close();
});
afterEach(async () => {
  await store?.close();
  await removeDir(dataDir);
});

describe('WatermarkKeeper', () => {
  it('follows the newest durable event and created task, writes within its interval, and cleanly at close', async () => {
    const keeper = new WatermarkKeeper(store!, dataDir, { newest_event: null, newest_task: null }, silent, Date.now, 50);
    await keeper.flush(false);
    expect(await readWatermark(dataDir)).toMatchObject({ newest_event: null, newest_task: null, clean: false });
    const [a, b] = await store!.createMany([{ title: 'a' }, { title: 'b' }], 'test');
    const cancelled = await store!.cancel(a!.task.id, 'test');
    const newestEvent = cancelled.event_ids.at(-1)!;
    await waitFor('the watermark to follow', async () => {
      const w = await readWatermark(dataDir);
      return w !== null && w !== 'garbled' && w.newest_event === newestEvent;
    });
    // A change to an older task moves the event, not the newest task.
    expect(await readWatermark(dataDir)).toMatchObject({ newest_task: b!.task.id, clean: false });
    await store!.close();
    store = null;
    await keeper.close();
    expect(await readWatermark(dataDir)).toMatchObject({ newest_event: newestEvent, newest_task: b!.task.id, clean: true });
  });
});

describe('comparing the store with the watermark and the newest backup', () => {
  it('a store behind the watermark, or behind the newest backup manifest, lost writes; ahead of either is fine', async () => {
    const n = { newest_event: '01B', newest_task: '01B' };
    const w = (e: string, t: string) => ({ newest_event: e, newest_task: t, at: 0, clean: true });
    expect(lostWrites(n, w('01A', '01A'), null)).toBeNull();
    expect(lostWrites(n, w('01B', '01B'), null)).toBeNull();
    expect(lostWrites(n, w('01C', '01A'), null)).toMatch(/acknowledged up to event 01C/);
    expect(lostWrites(n, w('01A', '01C'), null)).toMatch(/task 01C/);
    expect(lostWrites({ newest_event: null, newest_task: null }, w('01A', '01A'), null)).toMatch(/newest event is \(none\)/);
    expect(lostWrites(n, null, { dir: '/b', at: 1, newest_event: '01C' })).toMatch(/older than the newest backup's 01C \(\/b\)/);
    expect(lostWrites(n, null, { dir: '/b', at: 1, newest_event: '01A' })).toBeNull();
  });

  it('hub check reports LOST WRITES against a backup manifest when the watermark is gone', async () => {
    ensureBuilt();
    await store!.create({ title: 'only' }, 'test');
    await store!.close();
    store = null;
    const backup = join(dataDir, 'backups', '2026-12-02T00-00-00-000Z');
    await mkdir(backup, { recursive: true });
    await writeFile(join(backup, 'manifest.json'), JSON.stringify({ created_at: 1, newest_event_id: '7ZZZZZZZZZZZZZZZZZZZZZZZZZ' }));
    const found = await inspectStores(dataDir);
    expect(found.problems).toEqual([expect.objectContaining({ kind: 'lost-writes', problem: expect.stringContaining('older than the newest backup') })]);
    const r = await runCli(['hub', 'check', '--data', dataDir]);
    expect(r.code, show(r)).toBe(1);
    expect(r.stdout).toContain(`LOST WRITES: ${join(dataDir, 'tasks')} the store lost acknowledged writes`);
  });

  it('a garbled watermark is noted, not trusted, and the store is not called damaged for it', async () => {
    await store!.close();
    store = null;
    await writeWatermark(dataDir, { newest_event: null, newest_task: null, at: 0, clean: true });
    await writeFile(join(dataDir, 'watermark.json'), '{"newest_ev');
    const found = await inspectStores(dataDir);
    expect(found.problems).toEqual([]);
    expect(found.notes).toEqual([expect.stringContaining('watermark.json cannot be read')]);
  });
});
