/**
 * The work users run Switchyard for, end to end: a real hub, a real sidecar with a real git repo
 * (a bare remote and a clone), and a fake Ollama server that speaks Ollama's wire format. The
 * model's first answer fails `test_passes`; the corrective iteration passes; the task ends
 * completed with two iterations, a verification report, a usage record and a pushed branch.
 */
import { afterEach, beforeAll, expect, test } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Task } from '../../shared/task.js';
import { CALC_REPO_FILES, FAIL_THEN_FIX, FIXED_SUM } from '../fixtures/calc-repo.js';
import { startFakeOllama, type FakeOllama } from '../fixtures/fake-ollama.js';
import { git, GIT_ENV, remoteAndClone } from '../sidecar-work/git-helpers.js';
import { api, ensureBuilt, freePort, Proc, registerAgent, startHubProc, tempDir, waitFor } from '../support/processes.js';

const MODEL = 'qwen2.5-coder:7b';
let procs: Proc[] = [];
let fake: FakeOllama | null = null;
beforeAll(() => ensureBuilt());
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const p of procs) console.error(p.dump());
  await Promise.all(procs.map((p) => p.stop()));
  procs = [];
  await fake?.close();
});

test('a coding task: first answer fails its tests, the corrective iteration passes, the branch is pushed', async () => {
  const dir = tempDir('coding');
  fake = await startFakeOllama();
  fake.models = [{ name: MODEL, size: 4_700_000_000 }];
  fake.script(...FAIL_THEN_FIX);
  const { remote, clone } = await remoteAndClone(dir, CALC_REPO_FILES);

  const hub = await startHubProc(join(dir, 'hub'), await freePort());
  procs.push(hub.proc);
  const token = await registerAgent(hub.url, 'gpu-1');
  const configFile = join(dir, 'sidecar.json');
  writeFileSync(configFile, JSON.stringify({ executors: ['ollama'], repos: [{ name: 'calc', path: clone, test_command: 'node test.mjs' }] }));
  const sidecar = new Proc('sidecar gpu-1', ['sidecar', '--hub', hub.url, '--agent', 'gpu-1', '--data', join(dir, 'sc'), '--config', configFile], {
    SWITCHYARD_TOKEN: token,
    SWITCHYARD_LOG_LEVEL: 'debug',
    OLLAMA_HOST: fake.url,
    GIT_AUTHOR_NAME: GIT_ENV.GIT_AUTHOR_NAME,
    GIT_AUTHOR_EMAIL: GIT_ENV.GIT_AUTHOR_EMAIL,
    GIT_COMMITTER_NAME: GIT_ENV.GIT_COMMITTER_NAME,
    GIT_COMMITTER_EMAIL: GIT_ENV.GIT_COMMITTER_EMAIL,
  });
  procs.push(sidecar);
  await sidecar.waitForLog('connected to hub');

  // The sidecar advertised its executor, model and repo: the hub routes by them.
  const agent = await api<{ executors: Array<{ name: string; models: string[] }>; repos: string[] }>(hub.url, 'GET', '/v1/agents/gpu-1');
  // …and what each model is and whether it is warm (the LLM registry at the hub, fed by the sidecar).
  expect(agent.body.executors).toEqual([
    { name: 'ollama', available: true, models: [MODEL], model_info: [{ name: MODEL, family: 'qwen2', parameter_size: '7.6B', quantization: 'Q4_K_M', size_bytes: 4_700_000_000, loaded: false }] },
  ]);
  expect(agent.body.repos).toEqual(['calc']);

  const created = await api<Task>(hub.url, 'POST', '/v1/tasks', {
    title: 'Add a sum function',
    description: 'Create sum.mjs exporting sum(a, b).',
    repo: 'calc',
    executor: 'ollama',
    model: MODEL,
    context: { files: ['test.mjs'] },
    verification: [{ type: 'file_exists', path: 'sum.mjs' }, { type: 'test_passes' }],
  });
  expect(created.status).toBe(201);

  const done = await waitFor('coding task completed', async () => {
    const t = (await api<{ task: Task }>(hub.url, 'GET', `/v1/tasks/${created.body.id}`)).body.task;
    return (t.status === 'completed' || t.status === 'failed' || t.status === 'dead_letter') && t;
  }, 45_000);
  expect(done.status, JSON.stringify(done.last_error)).toBe('completed');
  const result = done.result as {
    iterations: Array<{ n: number; verification: { passed: boolean; checks: Array<{ type: string; passed: boolean; output_tail: string }> } }>;
    verification: { passed: boolean };
    usage: { input_tokens: number; output_tokens: number; cost_usd: number; wall_ms: number };
    submission: { branch: string; commit: string; pushed: boolean; pr_url: string | null; url: string | null };
    url: string | null;
  };
  expect(result.iterations.map((i) => i.n)).toEqual([1, 2]);
  expect(result.iterations[0]!.verification.passed).toBe(false);
  expect(result.iterations[0]!.verification.checks.find((c) => c.type === 'test_passes')!.output_tail).toContain('expected 5, got 6');
  expect(result.iterations[1]!.verification.passed).toBe(true);
  expect(result.verification.passed).toBe(true);
  expect(result.usage).toMatchObject({ input_tokens: 1700, output_tokens: 79, cost_usd: 0 });
  expect(result.usage.wall_ms).toBeGreaterThan(0);
  expect(result.submission.pushed).toBe(true);
  expect(result.submission.pr_url).toBeNull(); // no gh here: the pushed branch is reported instead
  expect(result.submission.branch).toMatch(new RegExp(`^task/${created.body.id.toLowerCase()}-add-a-sum-function$`, 'i'));

  // The bare remote has the branch, at the reported commit, with the fixed file.
  expect(await git(remote, 'rev-parse', `refs/heads/${result.submission.branch}`)).toBe(result.submission.commit);
  expect(await git(remote, 'show', `refs/heads/${result.submission.branch}:sum.mjs`)).toBe(FIXED_SUM.trim());
  expect(await git(remote, 'log', '-1', '--format=%B', `refs/heads/${result.submission.branch}`)).toContain(created.body.id);
  // Work never happened on the default branch.
  expect(await git(remote, 'ls-tree', '--name-only', 'main')).not.toContain('sum.mjs');
  expect(fake.pending()).toBe(0);
});
