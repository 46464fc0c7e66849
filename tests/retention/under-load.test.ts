/**
 * Retention under load: rounds run while loops keep creating, leasing, completing, failing and
 * cancelling tasks (some with dependencies) on the same real LevelDB store, the clock moving
 * forward all the while. No live (non-final) task is ever removed, every removed task is in the
 * archive (readable, final, older than its limit when removed), and the store stays consistent.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { TaskArchive } from '../../hub/archive/archive.js';
import type { RetentionOptions, TaskStore } from '../../hub/store/task-store.js';
import type { Task } from '../../shared/task.js';
import { A0, makeTempDir, openLevelTestStore, removeDir, spec, type LevelTestStore } from '../support/queue-store.js';

const LIMIT = 60_000;
const OPTIONS: RetentionOptions = { completedMs: LIMIT, cancelledMs: LIMIT, deadLetterMs: 2 * LIMIT, batch: 25, idempotencyKeepMs: 0 };

let h: LevelTestStore;
let archiveDir: string;
beforeEach(async () => {
  h = await openLevelTestStore();
  archiveDir = await makeTempDir('switchyard-archive-');
});
afterEach(async () => {
  await h.dispose();
  await removeDir(archiveDir);
});

/** One unit of work: a task (sometimes depending on an earlier one) taken to some end. */
async function work(store: TaskStore, i: number, earlier: string[]): Promise<string> {
  const depends = i % 5 === 0 && earlier.length > 0 ? [earlier[earlier.length - 1]!] : [];
  let task: Task;
  try {
    task = (await store.create(spec(`w${i}`, { depends_on: depends, max_attempts: 1 }), 'load')).task;
  } catch {
    // The dependency was cancelled or dead-lettered meanwhile (DEPENDENCY_FAILED): fine.
    task = (await store.create(spec(`w${i}`, { max_attempts: 1 }), 'load')).task;
  }
  earlier.push(task.id);
  if (i % 7 === 0) {
    await store.cancel(task.id, 'load');
    return task.id;
  }
  if (i % 3 === 0) return task.id; // left live: queued or pending
  const leased = await store.leaseTask(task.id, A0);
  if (!leased) return task.id;
  const running = await store.accept(leased.id, leased.generation, 'a0');
  if (i % 11 === 0) {
    await store.fail(running.id, running.generation, 'a0', { code: 'X', message: 'no', retryable: false });
    return task.id;
  }
  if (i % 13 === 0) return task.id; // left running
  await store.complete(running.id, running.generation, 'a0', { i });
  return task.id;
}

it('removes only final tasks older than their limit, while the store is busy, and archives each', async () => {
  const { store, clock } = h;
  const archive = new TaskArchive(archiveDir);
  const earlier: string[] = [];
  const created = new Set<string>();
  const removedAt = new Map<string, number>();
  let i = 0;
  let stop = false;
  const loop = async () => {
    while (!stop) {
      const n = i++;
      created.add(await work(store, n, earlier));
      clock.advance(97);
    }
  };
  const rounds = async () => {
    while (!stop) {
      const before = new Map<string, Task>();
      for (const id of created) {
        const t = await store.get(id);
        if (t) before.set(id, t);
      }
      const report = await store.retain!(OPTIONS, archive);
      for (const [id, t] of before) {
        if (removedAt.has(id) || (await store.get(id))) continue;
        removedAt.set(id, report.at);
        // The record as it was just before the round: it was final (nothing moves a final task).
        expect(['completed', 'cancelled', 'dead_letter']).toContain(t.status);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const loops = Array.from({ length: 6 }, loop);
  const retention = rounds();
  while (removedAt.size < 150 && i < 5000) await new Promise((r) => setTimeout(r, 20));
  stop = true;
  await Promise.all([...loops, retention]);

  expect(removedAt.size).toBeGreaterThanOrEqual(150);
  for (const id of created) {
    const live = await store.get(id);
    if (live) continue;
    const archived = await archive.find(id);
    expect(archived, `task ${id} is neither live nor archived`).toBeDefined();
    const t = archived!.task;
    expect(['completed', 'cancelled', 'dead_letter']).toContain(t.status);
    const limit = t.status === 'dead_letter' ? OPTIONS.deadLetterMs : LIMIT;
    expect(t.updated_at).toBeLessThan((removedAt.get(id) ?? clock.now()) - limit + 1);
    expect(archived!.events.length).toBeGreaterThanOrEqual(2);
    expect(archived!.events.at(-1)!.to).toBe(t.status);
  }
  // Every live task is still there, in a live state or final and young (or kept for a dependant).
  const report = await store.verifyIntegrity();
  expect(report.problems).toEqual([]);
  expect(report.tasks).toBe(created.size - removedAt.size);
});
