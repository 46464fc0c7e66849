/**
 * Retention in a running hub (real LevelDB, the retention feature on its timer): a finished task
 * leaves the live store into `<data>/archive/`, and GET /v1/tasks/:id and `switchyard task show`
 * still find it, marked archived, with its events; the health report counts the rounds.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Health, TaskDetail } from '../../shared/rest.js';
import { runCli, show } from '../support/cli-run.js';
import { ADMIN_TOKEN, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';
import { A0 } from '../support/queue-store.js';

let h: InprocHub;
beforeEach(async () => {
  h = await startInprocHub({
    listen: true,
    config: { retentionCompletedMs: 1, retentionCancelledMs: 1, retentionEveryMs: 50, idempotencyKeepMs: 60_000 },
  });
});
afterEach(async () => {
  await h.close();
});

async function health(): Promise<Health> {
  return (await h.hub.app.inject({ method: 'GET', url: '/v1/health' })).json() as Health;
}

describe('retention in the hub', () => {
  it('archives a finished task; REST and the CLI show it, marked archived; a live one is untouched', async () => {
    const live = (await h.store.create({ title: 'still queued' }, 'test')).task;
    const done = (await h.store.create({ title: 'finished work', idempotency_key: 'job-7' }, 'test')).task;
    const leased = await h.store.leaseTask(done.id, A0);
    const running = await h.store.accept(leased!.id, leased!.generation, 'a0');
    await h.store.complete(running.id, running.generation, 'a0', { summary: 'all good' });
    // Newer work: retention keeps the newest task and event (the start-up check compares them).
    await h.store.create({ title: 'created after' }, 'test');

    await waitFor(async () => (await h.store.get(done.id)) === undefined, 'the finished task to leave the live store');
    await waitFor(async () => (await health()).retention?.archived_total === 1, 'the health report to count it');
    expect((await health()).retention).toMatchObject({ archived_total: 1 });
    expect(await h.store.get(live.id)).toBeDefined();
    expect((await readdir(join(h.dir, 'archive'))).some((f) => /^\d{4}-\d{2}-\d{2}\.jsonl\.gz$/.test(f))).toBe(true);

    const res = await h.hub.app.inject({ method: 'GET', url: `/v1/tasks/${done.id}`, headers: h.auth() });
    expect(res.statusCode).toBe(200);
    const detail = res.json() as TaskDetail;
    expect(detail.archived).toBe(true);
    expect(detail.task).toMatchObject({ id: done.id, status: 'completed', result: { summary: 'all good' } });
    expect(detail.events.map((e) => e.to)).toEqual(['queued', 'assigned', 'running', 'completed']);
    // A live task carries no marker.
    const liveRes = await h.hub.app.inject({ method: 'GET', url: `/v1/tasks/${live.id}`, headers: h.auth() });
    expect((liveRes.json() as TaskDetail).archived).toBeUndefined();
    // An id that was never a task is still not found.
    const missing = await h.hub.app.inject({ method: 'GET', url: '/v1/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV', headers: h.auth() });
    expect(missing.statusCode).toBe(404);

    // The key of the archived task is reserved: the same key again is refused, naming it.
    const again = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'again', idempotency_key: 'job-7' } });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_ARCHIVED', retryable: false });

    const cli = await runCli(['task', 'show', done.id, '--hub', h.url, '--token', ADMIN_TOKEN]);
    expect(cli.code, show(cli)).toBe(0);
    expect(cli.stdout).toContain('finished work');
    expect(cli.stdout).toContain('status completed');
    expect(cli.stdout).toMatch(/archived: removed from the live store by retention/);
    const json = await runCli(['task', 'show', done.id, '--json', '--hub', h.url, '--token', ADMIN_TOKEN]);
    expect(JSON.parse(json.stdout)).toMatchObject({ archived: true, task: { id: done.id } });
  });
});
