/**
 * Task search and paging for the dashboard (GET /v1/tasks with q, order, filters): a title or id
 * search, case-insensitive; newest first; and a bounded scan: a page reads at most 10,000 records,
 * so a rare match far back comes on a later page behind a short one, never after a full scan.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../shared/task.js';
import { startInprocHub, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub;
let needle: Task;
const TOTAL = 10_200;

async function list(query: string): Promise<{ tasks: Task[]; next: string | null }> {
  const res = await h.hub.app.inject({ method: 'GET', url: `/v1/tasks?${query}`, headers: h.auth() });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

beforeAll(async () => {
  h = await startInprocHub();
  // The needle is the oldest task; 10,199 others come after it.
  const first = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'Fix the Flaky Needle test', lane: 'high', repo: 'calc' } });
  needle = first.json() as Task;
  for (let made = 1; made < TOTAL; made += 1000) {
    const n = Math.min(1000, TOTAL - made);
    const res = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks/batch', headers: h.auth(), payload: { tasks: Array.from({ length: n }, (_, i) => ({ title: `hay ${made + i}`, repo: i % 2 ? 'calc' : 'web' })) } });
    expect(res.statusCode).toBe(201);
  }
}, 120_000);
afterAll(async () => h.close());

describe('task search', () => {
  it('finds a task by a piece of its title, case-insensitively, oldest first', async () => {
    const page = await list('q=flaky%20NEEDLE');
    expect(page.tasks.map((t) => t.id)).toEqual([needle.id]);
    // The page stopped at its scan bound; the rest of the store holds no other match.
    expect(page.next).not.toBeNull();
    const rest = await list(`q=flaky%20NEEDLE&after=${page.next}`);
    expect(rest).toEqual({ tasks: [], next: null });
  });

  it('finds a task by its whole id at once (a point read), and honours the other filters', async () => {
    expect((await list(`q=${needle.id.toLowerCase()}`)).tasks.map((t) => t.id)).toEqual([needle.id]);
    expect((await list(`q=${needle.id}&lane=high&repo=calc`)).tasks).toHaveLength(1);
    expect((await list(`q=${needle.id}&lane=low&limit=5`)).tasks).toHaveLength(0);
  });

  it('pages newest first with a cursor that continues where the last page ended', async () => {
    const a = await list('order=desc&limit=3');
    const b = await list(`order=desc&limit=3&after=${a.next}`);
    const titles = [...a.tasks, ...b.tasks].map((t) => t.title);
    expect(titles).toEqual([`hay ${TOTAL - 1}`, `hay ${TOTAL - 2}`, `hay ${TOTAL - 3}`, `hay ${TOTAL - 4}`, `hay ${TOTAL - 5}`, `hay ${TOTAL - 6}`]);
    const ids = [...a.tasks, ...b.tasks].map((t) => t.id);
    expect([...ids].sort().reverse()).toEqual(ids);
  });

  it('reads at most 10,000 records a page: a match far back comes behind a short page and its cursor', async () => {
    const first = await list('q=needle&order=desc');
    expect(first.tasks).toEqual([]);
    expect(first.next).not.toBeNull();
    const second = await list(`q=needle&order=desc&after=${first.next}`);
    expect(second.tasks.map((t) => t.id)).toEqual([needle.id]);
    expect(second.next).toBeNull();
  });

  it('combines the search with status and repo filters', async () => {
    const page = await list('q=hay%201000&status=queued&repo=web&limit=100');
    expect(page.tasks.length).toBeGreaterThan(0);
    for (const t of page.tasks) {
      expect(t.title).toContain('hay 1000');
      expect(t.repo).toBe('web');
      expect(t.status).toBe('queued');
    }
  });

  it('refuses a bad order or an empty search with VALIDATION_FAILED', async () => {
    for (const q of ['order=sideways', 'q=']) {
      const res = await h.hub.app.inject({ method: 'GET', url: `/v1/tasks?${q}`, headers: h.auth() });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });
});
