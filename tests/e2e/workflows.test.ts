/**
 * The review workflow end to end, as the seeds' four workflows: a real hub and a real sidecar
 * (processes, WebSocket, LevelDB, git with a bare remote) and a fake Ollama that speaks Ollama's
 * wire format. The sidecar offers the roles `qa` and `docs`, so it runs the implementation and its
 * guardians; each guardian works on the implementation's pushed commit and runs its mechanical
 * checks (the tests, the docs check) before its model gives the verdict.
 *
 *   1. happy path: implementation → QA → docs, three tasks, all completed;
 *   2. QA rejects once with a reason: the implementation is reopened with the finding in its next
 *      prompt, fixed, QA passes, docs runs;
 *   3. three rejections open the breaker: the implementation fails for good (CIRCUIT_OPEN), an
 *      escalation is raised and the critical alert fires;
 *   4. an agent that crashes on a task three times in a row trips the breaker too.
 */
import { afterEach, beforeAll, expect, test } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Task } from '../../shared/task.js';
import { CALC_REPO_FILES, FIXED_SUM } from '../fixtures/calc-repo.js';
import { startFakeOllama, type ChatBody, type FakeOllama, type ScriptedReply } from '../fixtures/fake-ollama.js';
import { GIT_ENV, remoteAndClone } from '../sidecar-work/git-helpers.js';
import { api, ensureBuilt, freePort, Proc, registerAgent, startHubProc, tempDir, waitFor } from '../support/processes.js';

const MODEL = 'qwen2.5-coder:7b';
const FINDING = 'sum(0.1, 0.2) has no test';
let procs: Proc[] = [];
let fake: FakeOllama | null = null;
beforeAll(() => ensureBuilt());
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const p of procs) console.error(p.dump());
  await Promise.all(procs.map((p) => p.stop()));
  procs = [];
  await fake?.close();
  fake = null;
});

/** The implementation's model session: write sum.mjs and document it, then end the turn. */
const IMPLEMENT: ScriptedReply[] = [
  {
    content: 'Writing sum.mjs and its docs.',
    toolCalls: [
      { name: 'write_file', arguments: { path: 'sum.mjs', content: FIXED_SUM } },
      { name: 'write_file', arguments: { path: 'README.md', content: '# calc\n\n`sum(a, b)` adds two numbers.\n' } },
    ],
  },
  { content: 'Done.' },
];
const PASS: ScriptedReply = { content: 'I read the change and the checks.\nVERDICT: PASS' };
const REJECT: ScriptedReply = { content: `Missing an edge case.\nVERDICT: REJECT\n- [high] sum.mjs: ${FINDING}` };

interface Fleet {
  hub: string;
  dir: string;
  startSidecar: () => Promise<Proc>;
}

async function fleet(hubEnv: NodeJS.ProcessEnv = {}): Promise<Fleet> {
  const dir = tempDir('workflows');
  fake = await startFakeOllama();
  fake.models = [{ name: MODEL, size: 4_700_000_000 }];
  const { clone } = await remoteAndClone(dir, CALC_REPO_FILES);
  const hub = await startHubProc(join(dir, 'hub'), await freePort(), { SWITCHYARD_ALERT_CHECK_MS: '200', ...hubEnv });
  procs.push(hub.proc);
  const token = await registerAgent(hub.url, 'gpu-1');
  const configFile = join(dir, 'sidecar.json');
  writeFileSync(configFile, JSON.stringify({ executors: ['ollama'], repos: [{ name: 'calc', path: clone, test_command: 'node test.mjs' }] }));
  const url = fake.url;
  const startSidecar = async (): Promise<Proc> => {
    const sidecar = new Proc('sidecar gpu-1', ['sidecar', '--hub', hub.url, '--agent', 'gpu-1', '--data', join(dir, 'sc'), '--config', configFile], {
      SWITCHYARD_TOKEN: token,
      SWITCHYARD_LOG_LEVEL: 'debug',
      SWITCHYARD_CAPABILITIES: 'role:qa,role:docs',
      OLLAMA_HOST: url,
      GIT_AUTHOR_NAME: GIT_ENV.GIT_AUTHOR_NAME,
      GIT_AUTHOR_EMAIL: GIT_ENV.GIT_AUTHOR_EMAIL,
      GIT_COMMITTER_NAME: GIT_ENV.GIT_COMMITTER_NAME,
      GIT_COMMITTER_EMAIL: GIT_ENV.GIT_COMMITTER_EMAIL,
    });
    procs.push(sidecar);
    await sidecar.waitForLog('connected to hub');
    return sidecar;
  };
  return { hub: hub.url, dir, startSidecar };
}

async function createImplementation(hub: string, over: Record<string, unknown> = {}): Promise<Task> {
  const created = await api<Task>(hub, 'POST', '/v1/tasks', {
    title: 'Add a sum function',
    description: 'Create sum.mjs exporting sum(a, b), and document it.',
    repo: 'calc',
    executor: 'ollama',
    model: MODEL,
    supervision: 'auto',
    chain: ['qa', 'docs'],
    verification: [{ type: 'file_exists', path: 'sum.mjs' }, { type: 'test_passes' }],
    ...over,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

const show = async (hub: string, id: string) => (await api<{ task: Task }>(hub, 'GET', `/v1/tasks/${id}`)).body.task;

/** Every guardian task of `target`, oldest first. */
async function guardiansOf(hub: string, target: string): Promise<Task[]> {
  const { body } = await api<{ tasks: Task[] }>(hub, 'GET', '/v1/tasks?limit=200');
  return body.tasks.filter((t) => t.guardian?.target === target).sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id));
}

/** The prompt of each model run: the first user message of its chats (a run's later turns repeat it). */
function prompts(f: FakeOllama): string[] {
  const firsts = f.chats().map((c: ChatBody) => c.messages.find((m) => m.role === 'user')?.content ?? '');
  return firsts.filter((text, i) => i === 0 || text !== firsts[i - 1]);
}

test('1. happy path: implementation → QA → docs, three tasks, all completed, each guardian on the implementation’s commit', async () => {
  const f = await fleet();
  fake!.script(...IMPLEMENT, PASS, PASS);
  await f.startSidecar();
  const impl = await createImplementation(f.hub);

  const guardians = await waitFor('QA and docs completed', async () => {
    const g = await guardiansOf(f.hub, impl.id);
    return g.length === 2 && g.every((t) => t.status === 'completed') && g;
  }, 60_000);
  const done = await show(f.hub, impl.id);
  expect(done.status).toBe('completed');
  const [qa, docs] = guardians as [Task, Task];
  expect(qa.guardian).toMatchObject({ role: 'qa', target: impl.id, rest: ['docs'] });
  expect(docs.guardian).toMatchObject({ role: 'docs', target: impl.id, rest: [] });
  expect(qa.depends_on).toEqual([impl.id]);
  expect(docs.depends_on).toEqual([qa.id]); // docs depends on QA, not on the implementation

  // The implementation's evidence, sent by the sidecar: tests passed, the commit and files it changed.
  expect(done.evidence).toMatchObject({ test_command: 'node test.mjs', test_result: 'passed', files_changed: ['README.md', 'sum.mjs'] });
  expect(done.evidence!.commit).toMatch(/^[0-9a-f]{40}$/);
  // Each guardian was given that commit, and its mechanical checks ran on it.
  expect(qa.guardian!.commit).toBe(done.evidence!.commit);
  const qaResult = qa.result as { verdict: string; guardian_checks: Array<{ name: string; ran: boolean; passed: boolean }> };
  expect(qaResult.verdict).toBe('PASS');
  expect(qaResult.guardian_checks).toEqual([expect.objectContaining({ name: 'tests', ran: true, passed: true })]);
  const docsResult = docs.result as typeof qaResult;
  expect(docsResult.guardian_checks).toEqual([expect.objectContaining({ name: 'public_docs', ran: true, passed: true, summary: 'every name the change exports is described' })]);
  // The QA model was shown what the checks found, under its role's template.
  const all = prompts(fake!);
  expect(all.find((p) => p.includes('You are the QA guardian'))).toContain('- tests: passed — `node test.mjs` passed');
});

test('2. QA rejects once with a reason: the implementation is reopened with the finding in its prompt, fixed, QA passes, docs runs', async () => {
  const f = await fleet();
  fake!.script(...IMPLEMENT, REJECT, ...IMPLEMENT, PASS, PASS);
  await f.startSidecar();
  const impl = await createImplementation(f.hub);

  const guardians = await waitFor('QA twice and docs, all completed', async () => {
    const g = await guardiansOf(f.hub, impl.id);
    return g.length === 3 && g.every((t) => t.status === 'completed') && g;
  }, 90_000);
  expect(guardians.map((g) => [g.guardian!.role, (g.result as { verdict: string }).verdict])).toEqual([['qa', 'REJECT'], ['qa', 'PASS'], ['docs', 'PASS']]);
  const done = await show(f.hub, impl.id);
  expect(done.status).toBe('completed');
  expect(done.breaker).toMatchObject({ rejections: 1, opened_at: null });
  expect(done.feedback).toEqual([expect.objectContaining({ kind: 'guardian', by: expect.stringMatching(new RegExp(`^guardian:qa:${guardians[0]!.id}`)), text: expect.stringContaining(FINDING) })]);
  // The second implementation run was told, quoted.
  const implPrompts = prompts(fake!).filter((p) => p.includes('Create sum.mjs exporting sum(a, b)') && !/You are the \w+ guardian/.test(p));
  expect(implPrompts.length).toBeGreaterThanOrEqual(2);
  expect(implPrompts.at(-1)).toMatch(new RegExp(`> .*${FINDING.replace(/[().,]/g, '\\$&')}`));
});

test('3. three rejections open the breaker: failed for good, an escalation, a critical alert', async () => {
  const f = await fleet();
  fake!.script(...IMPLEMENT, REJECT, ...IMPLEMENT, REJECT, ...IMPLEMENT, REJECT);
  await f.startSidecar();
  const impl = await createImplementation(f.hub);

  const dead = await waitFor('the breaker to open', async () => {
    const t = await show(f.hub, impl.id);
    return t.status === 'dead_letter' && t;
  }, 120_000);
  expect(dead.last_error).toMatchObject({ code: 'CIRCUIT_OPEN', retryable: false });
  expect(dead.breaker).toMatchObject({ rejections: 3 });
  expect((await guardiansOf(f.hub, impl.id)).map((g) => (g.result as { verdict: string }).verdict)).toEqual(['REJECT', 'REJECT', 'REJECT']);
  const esc = await api<{ escalations: Array<{ kind: string; priority: string; task_id: string; status: string }> }>(f.hub, 'GET', `/v1/escalations?task=${impl.id}`);
  expect(esc.body.escalations).toEqual([expect.objectContaining({ kind: 'circuit_open', priority: 'critical', task_id: impl.id, status: 'open' })]);
  const alert = await waitFor('the circuit_open alert', async () => {
    const { body } = await api<{ alerts: Array<{ rule: string; severity: string }> }>(f.hub, 'GET', '/v1/alerts?state=active');
    return body.alerts.find((a) => a.rule === 'circuit_open');
  });
  expect(alert.severity).toBe('critical');
});

test('4. an agent that crashes on a task three times in a row trips the breaker', async () => {
  const f = await fleet();
  // Each run hangs in the model; the sidecar is killed mid-run, and its lease runs out.
  fake!.script({ content: 'thinking', hang: true }, { content: 'thinking', hang: true }, { content: 'thinking', hang: true });
  const impl = await createImplementation(f.hub, { chain: [], max_attempts: 10, timeouts: { lease_ms: 1500 } });
  for (let crash = 1; crash <= 3; crash++) {
    const sidecar = await f.startSidecar();
    await waitFor(`run ${crash} to start`, async () => (await show(f.hub, impl.id)).status === 'running' && fake!.chats().length >= crash, 30_000);
    sidecar.kill('SIGKILL');
    await sidecar.exited;
    const after = await waitFor(`lease ${crash} to expire`, async () => {
      const t = await show(f.hub, impl.id);
      return t.status !== 'running' && t.status !== 'assigned' && t;
    }, 30_000);
    if (crash < 3) expect(after).toMatchObject({ status: 'queued', last_error: { code: 'LEASE_EXPIRED' }, breaker: { expiries: crash } });
  }
  const dead = await show(f.hub, impl.id);
  expect(dead).toMatchObject({ status: 'dead_letter', last_error: { code: 'CIRCUIT_OPEN', retryable: false, details: { expiries: 3 } } });
  expect(dead.attempts).toBeLessThan(10); // the breaker, not the attempts, stopped it
  const esc = await api<{ escalations: Array<{ kind: string }> }>(f.hub, 'GET', `/v1/escalations?task=${impl.id}`);
  expect(esc.body.escalations.map((e) => e.kind)).toEqual(['circuit_open']);
});
