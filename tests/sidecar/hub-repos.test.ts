/**
 * A sidecar takes repo settings from the hub's registry (docs/repos.md): a repo added only at the
 * hub is usable by a real sidecar (a shell task runs in a worktree of a real bare git repo); the
 * sidecar's own config wins for the same name; an older or unreachable hub leaves the local
 * config (a warning, the sidecar still connects).
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import type { Task } from '../../shared/task.js';
import { loadSidecarConfig } from '../../sidecar/config.js';
import { buildExecutors } from '../../sidecar/executor-set.js';
import { fetchHubRepos, hubOnlyRepos } from '../../sidecar/hub-repos.js';
import { Sidecar } from '../../sidecar/sidecar.js';
import { startInprocHub, type InprocHub } from '../support/hub-inproc.js';
import { tempDir, waitFor } from '../support/processes.js';
import { remoteAndClone } from '../sidecar-work/git-helpers.js';

const silent = pino({ enabled: false });
let h: InprocHub | undefined;
const sidecars: Sidecar[] = [];
let server: Server | undefined;

afterEach(async () => {
  for (const s of sidecars.splice(0)) await s.stop();
  await h?.close();
  h = undefined;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function post(url: string, payload: unknown): Promise<any> {
  const res = await h!.hub.app.inject({ method: 'POST', url, headers: h!.auth(), payload: payload as object });
  if (res.statusCode >= 300) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
  return res.json();
}

async function startSidecar(repos: Array<Record<string, unknown>> = []): Promise<{ sc: Sidecar; dataDir: string }> {
  const token = await h!.addAgent('w1');
  const dataDir = join(tempDir('sc'), 'sc');
  const cfg = loadSidecarConfig({ hubUrl: h!.url, agentId: 'w1', token, dataDir, maxConcurrency: 1, repos }, {});
  const sc = new Sidecar(cfg, buildExecutors(cfg), silent);
  sidecars.push(sc);
  await sc.start();
  return { sc, dataDir };
}

async function finished(id: string): Promise<Task> {
  return waitFor('the task finished', async () => {
    const t = await h!.store.get(id);
    return t && ['completed', 'dead_letter', 'failed'].includes(t.status) ? t : undefined;
  });
}

describe('repo settings from the hub', () => {
  test('a repo registered only at the hub is cloned and worked on by a sidecar that has no repos configured', async () => {
    const { remote } = await remoteAndClone(tempDir('hubrepo'), { 'README.md': '# registered at the hub\n' });
    h = await startInprocHub({ listen: true });
    await post('/v1/repos', { name: 'web', url: remote, test_command: 'true' });
    const { dataDir } = await startSidecar();
    await waitFor('w1 connected with the repo', () => h!.hub.registry.get('w1')?.repos?.includes('web'));
    const task = (await post('/v1/tasks', { title: 'read the readme', executor: 'shell', command: 'cat README.md; pwd', repo: 'web' })) as Task;
    const done = await finished(task.id);
    expect(done.status).toBe('completed');
    const output = (done.result as { output_tail: string }).output_tail;
    expect(output).toContain('# registered at the hub');
    expect(output).toContain(join(dataDir, 'worktrees', 'web'));
  });

  test("the sidecar's own config wins for the same name", async () => {
    const hubSide = await remoteAndClone(tempDir('hubside'), { 'README.md': '# the hub copy\n' });
    const local = await remoteAndClone(tempDir('local'), { 'README.md': '# the local copy\n' });
    h = await startInprocHub({ listen: true });
    await post('/v1/repos', { name: 'web', url: hubSide.remote });
    await startSidecar([{ name: 'web', path: local.clone }]);
    const task = (await post('/v1/tasks', { title: 'which copy', executor: 'shell', command: 'cat README.md', repo: 'web' })) as Task;
    const done = await finished(task.id);
    expect((done.result as { output_tail: string }).output_tail).toContain('# the local copy');
  });

  test('an older hub (404) or none at all: null and a warning, so the local config stands', async () => {
    server = createServer((_req, res) => {
      res.statusCode = 404;
      res.end('{"code":"NOT_FOUND"}');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    const warnings: unknown[] = [];
    const log = { warn: (obj: unknown) => void warnings.push(obj) };
    expect(await fetchHubRepos(`http://127.0.0.1:${port}`, 't', log)).toBeNull();
    expect(warnings).toEqual([expect.objectContaining({ status: 404 })]);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    expect(await fetchHubRepos(`ws://127.0.0.1:${port}`, 't', log)).toBeNull();
    expect(warnings).toHaveLength(2);
  });

  test('hubOnlyRepos keeps only the names the local config lacks, with their settings', () => {
    const hub = [
      { name: 'web', url: 'u1', default_branch: 'main', test_command: null },
      { name: 'api', url: 'u2', default_branch: 'trunk', test_command: 'make test' },
    ];
    expect(hubOnlyRepos([{ name: 'web', path: '/x' }], hub)).toEqual([{ name: 'api', url: 'u2', default_branch: 'trunk', test_command: 'make test' }]);
  });
});
