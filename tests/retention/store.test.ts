/**
 * Retention on the real LevelDB store with a real archive folder: what goes (finished tasks
 * older than their status's limit, with their events), what stays (every live task, a parent a
 * live dependant waits on), the idempotency key policy, an interrupted round, the migration that
 * builds the finish index, and compaction shrinking the folder.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskArchive } from '../../hub/archive/archive.js';
import { MAX_EVENT_IDS } from '../../hub/queue/changes.js';
import { DAY_MS } from '../../hub/queue/retention-rules.js';
import { K } from '../../hub/store/keys.js';
import { openLevelKv } from '../../hub/store/level-kv.js';
import type { ArchivedTask, RetentionOptions, TaskStore } from '../../hub/store/task-store.js';
import type { Task } from '../../shared/task.js';
import { rawContents } from '../support/level-raw.js';
import { A0, allEvents, allTasks, expectCode, makeTaskIn, makeTempDir, openLevelTestStore, removeDir, spec, type LevelTestStore } from '../support/queue-store.js';

const OPTIONS: RetentionOptions = { completedMs: 30 * DAY_MS, cancelledMs: 30 * DAY_MS, deadLetterMs: 90 * DAY_MS, batch: 7, idempotencyKeepMs: 0, keepNewest: false };

let h: LevelTestStore;
let archiveDir: string;
let archive: TaskArchive;
beforeEach(async () => {
  h = await openLevelTestStore();
  archiveDir = await makeTempDir('switchyard-archive-');
  archive = new TaskArchive(archiveDir);
});
afterEach(async () => {
  await h.dispose();
  await removeDir(archiveDir);
});

const retain = (store: TaskStore, options: Partial<RetentionOptions> = {}) => store.retain!({ ...OPTIONS, ...options }, archive);
const ids = (tasks: Task[]) => tasks.map((t) => t.id).sort();

async function expectIntact(store: TaskStore): Promise<void> {
  const report = await store.verifyIntegrity();
  expect(report.problems).toEqual([]);
}

async function complete(store: TaskStore, id: string): Promise<Task> {
  const leased = await store.leaseTask(id, A0);
  const running = await store.accept(leased!.id, leased!.generation, 'a0');
  return store.complete(running.id, running.generation, 'a0', { ok: true });
}

describe('a retention round', () => {
  it('archives and removes finished tasks older than their limit, with their events; every live task stays', async () => {
    const { store } = h;
    const finished: Task[] = [];
    for (let i = 0; i < 10; i++) finished.push(await makeTaskIn(store, 'completed'));
    for (let i = 0; i < 5; i++) finished.push(await makeTaskIn(store, 'cancelled'));
    const dead = [await makeTaskIn(store, 'dead_letter'), await makeTaskIn(store, 'dead_letter')];
    const live = [
      await makeTaskIn(store, 'queued'),
      await makeTaskIn(store, 'running'),
      await makeTaskIn(store, 'assigned'),
      await makeTaskIn(store, 'pending'),
      await makeTaskIn(store, 'review'),
      await makeTaskIn(store, 'failed'),
    ];
    const eventsBefore = new Map<string, unknown>();
    for (const t of finished) eventsBefore.set(t.id, await allEvents(store, t.id));
    const before = await allTasks(store);

    // Not old enough yet: nothing goes.
    h.clock.advance(29 * DAY_MS);
    expect((await retain(store)).removed).toBe(0);

    h.clock.advance(2 * DAY_MS);
    const report = await retain(store);
    expect(report.removed).toBe(15);
    expect(report.removedByStatus).toEqual({ completed: 10, cancelled: 5 });
    expect(report.batches).toBeGreaterThan(1); // 15 tasks in batches of 7
    const after = await allTasks(store);
    expect(ids(after)).toEqual(ids(before.filter((t) => !finished.some((f) => f.id === t.id))));
    for (const t of [...live, ...dead]) expect(await store.get(t.id)).toBeDefined();
    for (const t of finished) {
      expect(await store.get(t.id)).toBeUndefined();
      const archived = await archive.find(t.id);
      expect(archived?.task.id).toBe(t.id);
      expect(archived?.task.status).toBe(t.status);
      expect(archived?.events).toEqual(eventsBefore.get(t.id));
      // Its events left the live log too.
      expect((await store.events({ limit: 1000 })).items.filter((e) => e.task_id === t.id)).toEqual([]);
    }
    await expectIntact(store);

    // Dead-lettered tasks have their own, longer limit.
    h.clock.advance(60 * DAY_MS);
    const later = await retain(store);
    expect(later.removedByStatus).toEqual({ dead_letter: 2 });
    expect((await store.stats()).byStatus.dead_letter).toBe(0);
    for (const t of live) expect(await store.get(t.id)).toBeDefined();
    await expectIntact(store);
    // The counts survive a reopen (rebuilt from disk) and agree.
    await expectIntact(await h.reopen());
  });

  it('archives every event of a task whose record lists only its newest (a full list)', async () => {
    const { store } = h;
    const { task } = await store.create(spec('bouncer'), 't');
    const rounds = Math.ceil(MAX_EVENT_IDS / 2) + 10;
    for (let i = 0; i < rounds; i++) {
      const leased = await store.leaseTask(task.id, A0);
      await store.release(task.id, leased!.generation, 'a0', 'BUSY: no free slot');
      h.clock.advance(1);
    }
    await store.cancel(task.id, 't');
    const other = await makeTaskIn(store, 'queued');
    h.clock.advance(31 * DAY_MS);
    expect((await retain(store)).removed).toBe(1);
    const archived = await archive.find(task.id);
    expect(archived?.events).toHaveLength(2 + 2 * rounds); // created, the bounces, cancelled
    expect(new Set(archived!.events.map((e) => e.id)).size).toBe(2 + 2 * rounds);
    const left = (await store.events({ limit: 1000 })).items;
    expect(left.every((e) => e.task_id === other.id)).toBe(true);
    await expectIntact(store);
  });

  it('a status with limit 0 is kept forever', async () => {
    const t = await makeTaskIn(h.store, 'completed');
    h.clock.advance(365 * DAY_MS);
    expect((await retain(h.store, { completedMs: 0 })).removed).toBe(0);
    expect(await h.store.get(t.id)).toBeDefined();
  });

  it('keeps a parent while a dependant waits on it, and a dependant of a removed parent still starts', async () => {
    const { store } = h;
    const p = (await store.create(spec('p'), 't')).task;
    const q = (await store.create(spec('q'), 't')).task;
    const d = (await store.create(spec('d', { depends_on: [p.id, q.id] }), 't')).task;
    await complete(store, p.id);
    // r is completed before e is created: e gets no edge to it.
    const r = await makeTaskIn(store, 'completed');
    const s = (await store.create(spec('s'), 't')).task;
    const e = (await store.create(spec('e', { depends_on: [r.id, s.id] }), 't')).task;
    expect(e.status).toBe('pending');
    h.clock.advance(31 * DAY_MS);

    const first = await retain(store);
    // p has a pending dependant (d): it stays. r has none registered: it goes.
    expect(await store.get(p.id)).toBeDefined();
    expect(await store.get(r.id)).toBeUndefined();
    expect(first.kept).toBeGreaterThanOrEqual(1);
    await expectIntact(store);

    // e's other dependency completes: e must start, though r is gone.
    await complete(store, s.id);
    expect((await store.get(e.id))!.status).toBe('queued');
    await complete(store, q.id);
    expect((await store.get(d.id))!.status).toBe('queued');
    await complete(store, d.id);
    await complete(store, e.id);
    h.clock.advance(31 * DAY_MS);
    await retain(store);
    for (const t of [p, q, d, s, e]) expect(await store.get(t.id)).toBeUndefined();
    expect((await archive.find(p.id))?.task.status).toBe('completed');
    await expectIntact(store);
  });

  it('removing a dependant lowers its remaining parent\'s dependant count', async () => {
    const { store } = h;
    const parent = (await store.create(spec('parent'), 't')).task;
    const child = (await store.create(spec('child', { depends_on: [parent.id] }), 't')).task;
    await store.cancel(parent.id, 't'); // the child is cancelled with it
    expect((await store.get(child.id))!.status).toBe('cancelled');
    h.clock.advance(31 * DAY_MS);
    await retain(store, { cancelledMs: 30 * DAY_MS });
    expect(await store.get(parent.id)).toBeUndefined();
    expect(await store.get(child.id)).toBeUndefined();
    await expectIntact(store);
  });
});

describe('idempotency keys of removed tasks', () => {
  it('stay reserved for idempotencyKeepMs (IDEMPOTENCY_KEY_ARCHIVED), then are released', async () => {
    const { store } = h;
    const t = await makeTaskIn(store, 'completed', { idempotency_key: 'nightly-1' });
    h.clock.advance(31 * DAY_MS);
    expect((await retain(store, { idempotencyKeepMs: DAY_MS })).removed).toBe(1);
    const err = await expectCode(store.create(spec('again', { idempotency_key: 'nightly-1' }), 't'), 'IDEMPOTENCY_KEY_ARCHIVED');
    expect(err.details).toMatchObject({ task_id: t.id });
    await expectIntact(store);

    h.clock.advance(DAY_MS + 1);
    expect((await retain(store, { idempotencyKeepMs: DAY_MS })).released).toBe(1);
    const again = await store.create(spec('again', { idempotency_key: 'nightly-1' }), 't');
    expect(again.created).toBe(true);
    expect(again.task.id).not.toBe(t.id);
    await expectIntact(store);
  });

  it('with idempotencyKeepMs 0 are released with the task', async () => {
    await makeTaskIn(h.store, 'completed', { idempotency_key: 'k0' });
    h.clock.advance(31 * DAY_MS);
    await retain(h.store, { idempotencyKeepMs: 0 });
    expect((await h.store.create(spec('again', { idempotency_key: 'k0' }), 't')).created).toBe(true);
  });
});

describe('an interrupted round', () => {
  it('a failure between the archive write and the removal loses nothing; the next round finishes, readers see each task once', async () => {
    const { store } = h;
    const done: Task[] = [];
    for (let i = 0; i < 5; i++) done.push(await makeTaskIn(store, 'completed'));
    h.clock.advance(31 * DAY_MS);
    // The archive write lands (fsync'd), then the process "dies" before the removal batch.
    const crashing = { append: async (entries: ArchivedTask[]) => {
      await archive.append(entries);
      throw new Error('killed after the archive write');
    } };
    await expect(store.retain!({ ...OPTIONS, batch: 100 }, crashing)).rejects.toThrow('killed');
    for (const t of done) expect(await store.get(t.id)).toBeDefined();
    await expectIntact(store);

    const report = await retain(await h.reopen(), { batch: 100 });
    expect(report.removed).toBe(5);
    const day = (await archive.days())[0]!;
    const lines = await rawLines(archiveDir);
    expect(lines).toHaveLength(10); // each task twice in the files...
    expect((await archive.readDay(day)).map((e) => e.task.id).sort()).toEqual(ids(done)); // ...once to a reader
  });

  it('a member cut short by a crash ends its file there; what came before is read', async () => {
    const t = await makeTaskIn(h.store, 'completed');
    await archive.append([{ task: t, events: [] }]);
    const [file] = await readdir(archiveDir);
    const whole = await readFile(join(archiveDir, file!));
    // A second member, cut in half as a crash mid-write would leave it.
    const { appendFile } = await import('node:fs/promises');
    await appendFile(join(archiveDir, file!), whole.subarray(0, Math.floor(whole.length / 2)));
    expect((await archive.find(t.id))?.task.title).toBe(t.title);
    // The next process writes a file of its own, which readers read after it.
    await new TaskArchive(archiveDir).append([{ task: { ...t, title: 'second copy' }, events: [] }]);
    expect((await readdir(archiveDir)).sort()).toEqual([file!, file!.replace('.jsonl.gz', '.1.jsonl.gz')].sort());
    expect((await archive.find(t.id))?.task.title).toBe('second copy');
  });
});

describe('the store format', () => {
  it('migrates a format-3 store: the finish index is built and retention finds its tasks', async () => {
    const t = await makeTaskIn(h.store, 'completed');
    await h.store.close();
    const finishKeys = (await rawContents(h.dir)).map(([k]) => k);
    expect(finishKeys.filter((k) => k.startsWith('f!'))).toHaveLength(1);
    const kv = await openLevelKv(h.dir);
    await kv.write(
      [{ type: 'put', key: K.version, value: '3' }, ...finishKeys.filter((k) => k.startsWith('f!')).map((key) => ({ type: 'del' as const, key }))],
      true,
    );
    await kv.close();
    expect((await rawContents(h.dir)).some(([k]) => k.startsWith('f!'))).toBe(false);
    const store = await h.reopen();
    await expectIntact(store);
    h.clock.advance(31 * DAY_MS);
    expect((await retain(store)).removed).toBe(1);
    expect(await store.get(t.id)).toBeUndefined();
  });
});

describe('compaction', () => {
  it('after removing many tasks, the store folder shrinks', async () => {
    const { store } = h;
    const description = 'x'.repeat(2000);
    for (let round = 0; round < 10; round++) {
      const created = await store.createMany(Array.from({ length: 200 }, (_, i) => spec(`t${round}-${i}`, { description })), 't');
      for (const { task } of created) await store.cancel(task.id, 't');
    }
    const before = await folderBytes(h.dir);
    h.clock.advance(31 * DAY_MS);
    const report = await retain(store, { batch: 500 });
    expect(report.removed).toBe(2000);
    const after = await folderBytes(h.dir);
    expect(after).toBeLessThan(before / 2);
    await expectIntact(store);
  });
});

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

async function rawLines(dir: string): Promise<string[]> {
  const lines: string[] = [];
  for (const name of await readdir(dir)) lines.push(...gunzipSync(await readFile(join(dir, name))).toString('utf8').split('\n').filter(Boolean));
  return lines;
}
