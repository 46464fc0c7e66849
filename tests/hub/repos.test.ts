/**
 * The repo registry on a real hub (docs/repos.md): REST with its errors and roles, records that
 * survive a restart of the agents database, the audit entry written with each change, priority
 * and pause as the scheduler serves a real sidecar socket, and the default repo of a coding task.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Repo } from '../../shared/repos.js';
import type { Task } from '../../shared/task.js';
import { openAgentStore } from '../../hub/store/agent-store.js';
import { repoStoreOf } from '../../hub/store/repo-store.js';
import { RawClient, startInprocHub, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers = h!.auth()) {
  const res = await h!.hub.app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: res.body ? res.json() : null };
}

describe('the repo registry over REST', () => {
  it('adds, lists by priority, shows, patches, moves, pauses, resumes and removes; errors have their codes', async () => {
    h = await startInprocHub();
    const web = await call('POST', '/v1/repos', { name: 'web', url: 'git@example.com:web.git', priority: 10, test_command: 'npm test' });
    expect(web.status).toBe(201);
    expect(web.body).toMatchObject({ name: 'web', default_branch: 'main', priority: 10, status: 'active', test_command: 'npm test' });
    expect((await call('POST', '/v1/repos', { name: 'api', url: 'https://example.com/api.git' })).body).toMatchObject({ priority: 0, test_command: null });
    expect((await call('POST', '/v1/repos', { name: 'web', url: 'x' })).body).toMatchObject({ code: 'REPO_EXISTS' });
    expect((await call('POST', '/v1/repos', { name: 'org/web', url: 'x' })).status).toBe(400);
    expect((await call('GET', '/v1/repos')).body.repos.map((r: Repo) => r.name)).toEqual(['web', 'api']);

    expect((await call('POST', '/v1/repos/api/move', { priority: 20 })).body.priority).toBe(20);
    expect((await call('GET', '/v1/repos')).body.repos.map((r: Repo) => r.name)).toEqual(['api', 'web']);
    expect((await call('PATCH', '/v1/repos/web', { default_branch: 'trunk', test_command: null })).body).toMatchObject({ default_branch: 'trunk', test_command: null });
    expect((await call('PATCH', '/v1/repos/web', {})).status).toBe(400);
    expect((await call('POST', '/v1/repos/web/pause', { reason: 'release freeze' })).body).toMatchObject({ status: 'paused', paused_reason: 'release freeze' });
    expect((await call('POST', '/v1/repos/web/resume')).body).toMatchObject({ status: 'active', paused_reason: '' });
    expect((await call('GET', '/v1/repos/nope')).body).toMatchObject({ code: 'REPO_NOT_FOUND' });
    expect((await call('POST', '/v1/repos/nope/pause')).status).toBe(404);
    expect((await call('DELETE', '/v1/repos/api')).status).toBe(204);
    expect((await call('DELETE', '/v1/repos/api')).status).toBe(404);
    expect((await call('GET', '/v1/repos/web')).body.default_branch).toBe('trunk');

    // Each change wrote its audit entry.
    const audit = (await call('GET', '/v1/audit?action=repos.')).body.entries.map((e: { action: string; subject: string }) => `${e.action} ${e.subject}`);
    expect(audit).toEqual(['repos.added web', 'repos.added api', 'repos.moved api', 'repos.updated web', 'repos.paused web', 'repos.resumed web', 'repos.removed api']);
  });

  it('viewers read, operators write, agents only read their settings at /v1/agent/repos', async () => {
    h = await startInprocHub();
    await call('POST', '/v1/repos', { name: 'web', url: 'https://example.com/web.git', test_command: 'make check' });
    const viewer = (await call('POST', '/v1/tokens', { name: 'wall', kind: 'viewer' })).body.token as string;
    const asViewer = { authorization: `Bearer ${viewer}`, 'content-type': 'application/json' };
    expect((await call('GET', '/v1/repos', undefined, asViewer)).status).toBe(200);
    expect((await call('POST', '/v1/repos/web/pause', {}, asViewer)).body).toMatchObject({ code: 'FORBIDDEN', details: { action: 'repos.write' } });
    const agent = await h.addAgent('box1');
    const asAgent = { authorization: `Bearer ${agent}` };
    expect((await call('GET', '/v1/repos', undefined, asAgent)).status).toBe(403);
    expect((await call('GET', '/v1/agent/repos', undefined, asAgent)).body).toEqual({ repos: [{ name: 'web', url: 'https://example.com/web.git', default_branch: 'main', test_command: 'make check' }] });
    expect((await call('GET', '/v1/agent/repos', undefined, h.auth())).status).toBe(401);
  });

  it('keeps its records in the agents database: a reopened store lists them', async () => {
    h = await startInprocHub();
    await call('POST', '/v1/repos', { name: 'web', url: 'u', priority: 3 });
    await call('POST', '/v1/repos/web/pause');
    const dir = h.dir;
    await h.hub.close();
    const agents = await openAgentStore(`${dir}/agents`);
    try {
      expect((await repoStoreOf(agents).list()).map((r) => [r.name, r.priority, r.status])).toEqual([['web', 3, 'paused']]);
    } finally {
      await agents.close();
    }
  });
});

describe('the registry in scheduling', () => {
  const shell = (title: string, repo?: string) => ({ title, executor: 'shell', command: 'true', ...(repo ? { repo } : {}) });

  it("serves the higher-priority repo's task first when an agent comes to a backlog", async () => {
    h = await startInprocHub({ listen: true });
    await call('POST', '/v1/repos', { name: 'api', url: 'u', priority: 0 });
    await call('POST', '/v1/repos', { name: 'web', url: 'u', priority: 10 });
    const api = (await call('POST', '/v1/tasks', shell('api first in', 'api'))).body as Task;
    const web = (await call('POST', '/v1/tasks', shell('web second in', 'web'))).body as Task;
    const token = await h.addAgent('w1');
    const c = await RawClient.connect(h.wsUrl, 'w1', token);
    try {
      expect(((await c.nextOf('task.assign')).task as Task).id).toBe(web.id);
      expect(c.received.filter((m) => m.type === 'task.assign').map((m) => (m.task as Task).id)).not.toContain(api.id);
    } finally {
      await c.close();
    }
  });

  it("a paused repo's task waits (queued, with the reason), other work goes on, and resuming fills the free agent", async () => {
    h = await startInprocHub({ listen: true });
    await call('POST', '/v1/repos', { name: 'web', url: 'u', priority: 10 });
    await call('POST', '/v1/repos/web/pause', { reason: 'freeze' });
    const held = (await call('POST', '/v1/tasks', shell('held', 'web'))).body as Task;
    const token = await h.addAgent('w1');
    const c = await RawClient.connect(h.wsUrl, 'w1', token);
    try {
      const free = (await call('POST', '/v1/tasks', shell('free'))).body as Task;
      const first = (await c.nextOf('task.assign')).task as Task;
      expect(first.id).toBe(free.id);
      // Finish it: the agent has a free slot again, and the paused repo's task still waits.
      c.send({ type: 'task.accept', id: 'a1', task_id: free.id, generation: first.generation });
      await c.nextOf('ack');
      c.send({ type: 'task.complete', id: 'c1', task_id: free.id, generation: first.generation, result: {} });
      await c.nextOf('ack');
      const shown = (await call('GET', `/v1/tasks/${held.id}`)).body as { task: Task; waiting: string };
      expect(shown.task.status).toBe('queued');
      expect(shown.waiting).toBe('repo web is paused: freeze');
      expect(c.received.filter((m) => m.type === 'task.assign').map((m) => (m.task as Task).id)).toEqual([free.id]);

      await call('POST', '/v1/repos/web/resume');
      expect(((await c.nextOf('task.assign')).task as Task).id).toBe(held.id);
    } finally {
      await c.close();
    }
  });
});

describe('the default repo', () => {
  it('a coding task with no repo takes the highest-priority active repo, recorded on the task; shell tasks and named repos are left alone', async () => {
    h = await startInprocHub();
    const none = (await call('POST', '/v1/tasks', { title: 'before any repo', executor: 'claude' })).body as Task;
    expect(none.repo).toBeNull();
    expect(none.repo_reason).toBeUndefined();

    await call('POST', '/v1/repos', { name: 'web', url: 'u', priority: 10 });
    await call('POST', '/v1/repos', { name: 'top', url: 'u', priority: 50 });
    await call('POST', '/v1/repos/top/pause');
    const coding = (await call('POST', '/v1/tasks', { title: 'fix the login page', executor: 'claude', repo_reason: 'mine' })).body as Task;
    expect(coding.repo).toBe('web');
    expect(coding.repo_reason).toBe("no repo given: took the highest-priority active repo 'web' (priority 10)");
    const prompt = (await call('POST', '/v1/tasks', { title: 'no executor, no command' })).body as Task;
    expect(prompt.repo).toBe('web');

    const shellTask = (await call('POST', '/v1/tasks', { title: 'ls', executor: 'shell', command: 'ls' })).body as Task;
    expect(shellTask.repo).toBeNull();
    const named = (await call('POST', '/v1/tasks', { title: 'named', executor: 'ollama', repo: 'api', repo_reason: 'mine' })).body as Task;
    expect(named.repo).toBe('api');
    expect(named.repo_reason).toBeUndefined();

    await call('POST', '/v1/repos/top/resume');
    const batch = (await call('POST', '/v1/tasks/batch', { tasks: [{ title: 'in a batch', executor: 'ollama' }] })).body.tasks as Task[];
    expect(batch[0]!.repo).toBe('top');
  });
});
