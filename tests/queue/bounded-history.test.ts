/**
 * A record lists at most MAX_EVENT_IDS of its events (the newest); the global log keeps all.
 * And the integrity check holds the serial path, so it is right even while work goes on.
 */
import { afterEach, expect, test } from 'vitest';
import { MAX_EVENT_IDS } from '../../hub/queue/changes.js';
import type { TaskStore } from '../../hub/store/task-store.js';
import { openTestStore, type TestStore } from '../support/queue-store.js';

let h: TestStore | null = null;
let store: TaskStore | null = null;
afterEach(async () => {
  await h?.dispose();
  h = null;
  store = null;
});

/** A store on the real clock, as the hub runs it (no timers: nothing here expires). */
async function open(): Promise<TaskStore> {
  h = await openTestStore({ now: Date.now, random: Math.random });
  return h.store;
}

test('a task that bounces for a long time keeps its newest event ids; the log keeps every event', async () => {
  store = await open();
  const { task } = await store.create({ title: 'bouncer' }, 'test');
  const agent = { agentId: 'a1', capabilities: [] };
  const rounds = Math.ceil(MAX_EVENT_IDS / 2) + 10;
  for (let i = 0; i < rounds; i++) {
    const leased = await store.leaseTask(task.id, agent);
    await store.release(task.id, leased!.generation, 'a1', 'BUSY: no free slot');
  }
  const after = (await store.get(task.id))!;
  expect(after.event_ids).toHaveLength(MAX_EVENT_IDS);
  const all: string[] = [];
  for (let cursor: string | undefined; ; ) {
    const page = await store.events({ limit: 1000, ...(cursor ? { after: cursor } : {}) });
    all.push(...page.items.map((e) => e.id));
    if (!page.next) break;
    cursor = page.next;
  }
  expect(all).toHaveLength(1 + 2 * rounds);
  expect(after.event_ids).toEqual(all.slice(all.length - MAX_EVENT_IDS));
  const perTask = await store.events({ taskId: task.id, limit: 1000 });
  expect(perTask.items.map((e) => e.id)).toEqual(after.event_ids);
  expect((await store.verifyIntegrity()).problems).toEqual([]);
});

test('the integrity check is consistent while operations keep arriving', async () => {
  store = await open();
  const s = store;
  const work = Array.from({ length: 300 }, (_, i) => s.create({ title: `t${i}` }, 'test').then(({ task }) => s.leaseTask(task.id, { agentId: 'a', capabilities: [] })));
  const checks = [s.verifyIntegrity(), s.verifyIntegrity()];
  await Promise.all(work);
  for (const report of await Promise.all(checks)) expect(report.problems).toEqual([]);
  const final = await s.verifyIntegrity();
  expect(final).toMatchObject({ ok: true, tasks: 300 });
});
