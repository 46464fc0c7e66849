/**
 * A repo's review settings from the hub config (hub/workflow/repo-settings.ts): guardian chains
 * and required review per repo, `*` for all, the task's own choice first, never for a shell task.
 * Then on a real hub: a task created on a listed repo waits in review after its run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Task, TaskSpec } from '../../shared/task.js';
import { repoSettingsOf } from '../../hub/workflow/repo-settings.js';
import { loadHubConfig } from '../../hub/config.js';
import { RawClient, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';

const spec = (over: Partial<TaskSpec> = {}): TaskSpec => ({ title: 'work', executor: 'ollama', repo: 'calc', ...over });

describe('repo settings', () => {
  const apply = repoSettingsOf({ guardianChains: ['calc=security+qa', '*=qa'], reviewRepos: ['calc'] });

  it('lays the repo’s chain and review onto a spec that sets neither', () => {
    expect(apply(spec())).toMatchObject({ chain: ['security', 'qa'], review: true });
    expect(apply(spec({ repo: 'site' }))).toEqual({ ...spec({ repo: 'site' }), chain: ['qa'] }); // `*` chain, no review
  });

  it('the task’s own choice wins, and a shell command gets nothing it did not ask for', () => {
    expect(apply(spec({ review: false, chain: [] }))).toEqual(spec({ review: false, chain: [] }));
    expect(apply(spec({ executor: 'shell', command: 'make' }))).toEqual(spec({ executor: 'shell', command: 'make' }));
    expect(repoSettingsOf({ reviewRepos: ['*'] })(spec({ repo: 'any' }))).toMatchObject({ review: true });
    expect(repoSettingsOf({})(spec())).toEqual(spec());
  });

  it('the config refuses what is not a repo name', () => {
    expect(loadHubConfig({ reviewRepos: ['calc', '*'] }, {}).reviewRepos).toEqual(['calc', '*']);
    expect(() => loadHubConfig({ reviewRepos: ['bad name'] }, {})).toThrow(/must be a repo name or \*/);
    expect(loadHubConfig({}, { SWITCHYARD_REVIEW_REPOS: 'calc,site' }).reviewRepos).toEqual(['calc', 'site']);
  });
});

describe('on a real hub', () => {
  let h: InprocHub;
  let c: RawClient | null = null;
  afterEach(async () => {
    await c?.close();
    await h?.close();
  });

  it('work on a repo that requires review waits in review after its run, and an approval completes it', async () => {
    h = await startInprocHub({ listen: true, config: { reviewRepos: ['calc'] } });
    c = await RawClient.connect(h.wsUrl, 'w1', await h.addAgent('w1'), { repos: ['calc'], executors: [{ name: 'ollama', available: true, models: [] }] });
    const res = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'edit', repo: 'calc', executor: 'ollama', supervision: 'auto' } });
    expect(res.statusCode).toBe(201);
    const created = res.json() as Task;
    expect(created.review).toBe(true);
    const assign = await c.nextOf('task.assign');
    c.send({ type: 'task.accept', id: 'a1', task_id: created.id, generation: assign.generation });
    c.send({ type: 'task.complete', id: 'c1', task_id: created.id, generation: assign.generation, result: { output: 'done' } });
    await waitFor(async () => (await h.store.get(created.id))?.status === 'review', 'the task to wait in review');
    const approved = await h.hub.app.inject({ method: 'POST', url: `/v1/tasks/${created.id}/approve`, headers: h.auth(), payload: {} });
    expect(approved.statusCode).toBe(200);
    expect((await h.store.get(created.id))?.status).toBe('completed');
  });
});
