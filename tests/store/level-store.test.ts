/**
 * LevelDB only: opening a task store folder (tests that are about the folder itself, so they do
 * not run against the other backends of the conformance suite in tests/queue/): a locked or
 * broken folder, and the read-only open `switchyard hub check` uses, which must leave every key
 * as it found it.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { K } from '../../hub/store/keys.js';
import { openLevelKv } from '../../hub/store/level-kv.js';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import { rawContents } from '../support/level-raw.js';
import { A0, expectCode, leaseAndAccept, makeTempDir, openLevelTestStore, removeDir, spec, type LevelTestStore } from '../support/queue-store.js';

let h: LevelTestStore;
beforeEach(async () => {
  h = await openLevelTestStore();
});
afterEach(async () => {
  await h.dispose();
});

describe('opening a folder', () => {
  it('a second open of the same folder -> STORE_LOCKED', async () => {
    await expectCode(openTaskStore(h.dir, { autoSweep: false }), 'STORE_LOCKED');
  });

  it('a folder that is not a store -> STORE_FAILED', async () => {
    const dir = await makeTempDir();
    try {
      await writeFile(join(dir, 'CURRENT'), 'garbage\n');
      await expectCode(openTaskStore(dir, { autoSweep: false }), 'STORE_FAILED');
    } finally {
      await removeDir(dir);
    }
  });
});

describe('read-only (hub check)', () => {
  /** A store left by a hub that stopped with a running task whose lease has since expired. */
  async function expiredLeaseStore(): Promise<string> {
    await h.store.createMany([spec('running'), spec('queued')], 'c');
    const running = await leaseAndAccept(h.store, A0);
    expect(running.status).toBe('running');
    await h.store.close();
    h.clock.advance(10 * 60_000); // the lease (60 s) is long expired
    return h.dir;
  }

  it('opens without sweeping: an expired lease is still running, and no key changes', async () => {
    const dir = await expiredLeaseStore();
    const before = await rawContents(dir);
    const store = await openTaskStore(dir, { now: h.clock.now, readOnly: true });
    try {
      const running = (await store.list({ status: 'running' })).items;
      expect(running.map((t) => t.title)).toEqual(['running']);
      expect(await store.verifyIntegrity()).toMatchObject({ ok: true, tasks: 2 });
      expect((await store.stats()).byStatus).toMatchObject({ running: 1, queued: 1 });
    } finally {
      await store.close();
    }
    expect(await rawContents(dir)).toEqual(before);
    // Opened normally, the same store sweeps the lease at once.
    const store2 = await h.reopen();
    expect((await store2.list({ status: 'queued' })).items).toHaveLength(2);
  });

  it('refuses every change with STORE_READ_ONLY, the sweep included', async () => {
    const dir = await expiredLeaseStore();
    const before = await rawContents(dir);
    const store = await openTaskStore(dir, { now: h.clock.now, readOnly: true });
    try {
      await expectCode(store.create(spec('new'), 'c'), 'STORE_READ_ONLY');
      await expectCode(store.leaseNext(A0), 'STORE_READ_ONLY');
      await expectCode(store.sweep(), 'STORE_READ_ONLY');
    } finally {
      await store.close();
    }
    expect(await rawContents(dir)).toEqual(before);
    await h.reopen();
  });

  it('a store that needs migration -> STORE_NEEDS_MIGRATION, and it is not migrated', async () => {
    await h.store.close();
    const kv = await openLevelKv(h.dir);
    await kv.write([{ type: 'put', key: K.version, value: '2' }], true);
    await kv.close();
    const before = await rawContents(h.dir);
    const err = await expectCode(openTaskStore(h.dir, { readOnly: true }), 'STORE_NEEDS_MIGRATION');
    expect(err.details).toEqual({ format: '2', current: '5' });
    expect(await rawContents(h.dir)).toEqual(before);
    await (await h.reopen()).close(); // opened normally, it migrates
    expect((await rawContents(h.dir)).find(([k]) => k === K.version)?.[1]).toBe('5');
    await h.reopen();
  });

  it('does not create a store where there is none', async () => {
    const parent = await makeTempDir();
    try {
      const dir = join(parent, 'tasks');
      await expectCode(openTaskStore(dir, { readOnly: true }), 'STORE_FAILED');
      expect(existsSync(dir)).toBe(false);
    } finally {
      await removeDir(parent);
    }
  });
});

describe("an assignment's stored JSON (the task.assign frame reuses it)", () => {
  it('is the text written to disk for the record object a lease returned, and nothing for other objects', async () => {
    await h.store.create(spec('reuse me'), 'client');
    const leased = (await h.store.leaseNext(A0))!;
    const json = h.store.recordJson!(leased);
    expect(json).toBe(JSON.stringify(leased));
    // A record the lease did not return (here a read of the same task) has none: the frame serializes it.
    const read = (await h.store.get(leased.id))!;
    expect(read).toEqual(leased);
    const accepted = await h.store.accept(leased.id, leased.lease!.generation, A0.agentId);
    expect(h.store.recordJson!(accepted)).toBeUndefined();
  });
});
