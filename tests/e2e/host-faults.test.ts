/**
 * Issue 17: host faults are not task failures. A real hub on 127.0.0.1 and real sidecars over
 * real sockets, with the real Claude Code CLI from npm (not logged in: it runs here without a
 * network), the stub CLI replaying real transcripts, and a fake Ollama speaking the real API.
 * Each host fault is detected or handed back, the task goes elsewhere (or waits `queued`, saying
 * why) with its attempts intact, and the executor or model comes back when the fault is gone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { formatAgent } from '../../cli/commands/agent.js';
import type { ExecutorAdvert } from '../../shared/protocol.js';
import type { ExecutorName, Task, TaskEvent } from '../../shared/task.js';
import { loadSidecarConfig, type SidecarConfig } from '../../sidecar/config.js';
import { ClaudeExecutor } from '../../sidecar/executors/claude.js';
import type { Executor } from '../../sidecar/executors/executor.js';
import { OllamaExecutor } from '../../sidecar/executors/ollama.js';
import { Sidecar } from '../../sidecar/sidecar.js';
import { startFakeOllama, type FakeOllama } from '../fixtures/fake-ollama.js';
import { limitedOnce } from '../support/claude-limit.js';
import { startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';
import { ROOT, tempDir } from '../support/processes.js';

const REAL_CLAUDE = join(ROOT, 'node_modules', '.bin', 'claude');
const STUB_CLAUDE = resolve(ROOT, 'tests', 'fixtures', 'stub-claude', 'claude');
const silent = pino({ enabled: false });

const open: Array<{ close(): Promise<void> } | { stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await ('stop' in x ? x.stop() : x.close());
});

async function hub(): Promise<InprocHub> {
  const h = await startInprocHub({ listen: true, config: { heartbeatMs: 150, acceptTimeoutMs: 5000 } });
  open.push(h);
  return h;
}

async function sidecar(h: InprocHub, id: string, executors: Map<ExecutorName, Executor>, over: Partial<SidecarConfig> = {}): Promise<Sidecar> {
  const token = await h.addAgent(id);
  const config = loadSidecarConfig(
    {
      hubUrl: h.url,
      agentId: id,
      token,
      dataDir: join(tempDir(`hf-${id}`), 'data'),
      executors: [...executors.keys()] as SidecarConfig['executors'],
      reconnectMinMs: 50,
      reconnectMaxMs: 200,
      recheckMinMs: 200,
      recheckMaxMs: 800,
      ...over,
    },
    {},
  );
  const s = new Sidecar(config, executors, silent);
  open.push(s);
  await s.start();
  await waitFor(() => h.hub.registry.get(id)?.ready, `${id} to connect`, 15_000);
  return s;
}

async function createTask(h: InprocHub, spec: Record<string, unknown>): Promise<Task> {
  const res = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'host fault', ...spec } });
  expect(res.statusCode).toBe(201);
  return res.json() as Task;
}

async function show(h: InprocHub, id: string): Promise<{ task: Task; events: TaskEvent[]; waiting: string | null }> {
  return (await h.hub.app.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: h.auth() })).json();
}

async function agentView(h: InprocHub, id: string): Promise<{ executors: ExecutorAdvert[] } & Record<string, unknown>> {
  return (await h.hub.app.inject({ method: 'GET', url: `/v1/agents/${id}`, headers: h.auth() })).json();
}

type Shown = { task: Task; events: TaskEvent[]; waiting: string | null };

/** Polls GET /v1/tasks/:id until `pred` holds; returns what it showed then. */
async function waitForTask(h: InprocHub, id: string, pred: (s: Shown) => boolean, what: string, timeoutMs = 20_000): Promise<Shown> {
  let last: Shown | undefined;
  await waitFor(async () => pred((last = await show(h, id))), what, timeoutMs);
  return last!;
}

const executorOf = async (h: InprocHub, agent: string, name: string) => (await agentView(h, agent)).executors.find((e) => e.name === name);
const assignedTo = (events: TaskEvent[]) => events.filter((e) => e.to === 'assigned').map((e) => e.reason);

/** A home folder with no Claude login in it, and an environment with no API key. */
function loggedOutEnv(): NodeJS.ProcessEnv {
  const home = tempDir('claude-home');
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, DISABLE_AUTOUPDATER: '1' };
}

function stub(env: Record<string, string> = {}): ClaudeExecutor {
  return new ClaudeExecutor({ bin: STUB_CLAUDE, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tempDir('stub-home'), ...env } });
}

describe('Claude Code that is not logged in (the real CLI)', () => {
  it('is detected at start as unavailable, with its reason; claude tasks go to a host that can run them', async () => {
    expect(existsSync(REAL_CLAUDE), 'the real Claude Code CLI is a devDependency (npm ci installs it)').toBe(true);
    const h = await hub();
    await sidecar(h, 'no-login', new Map([['claude', new ClaudeExecutor({ bin: REAL_CLAUDE, env: loggedOutEnv() })]]));

    const advert = await executorOf(h, 'no-login', 'claude');
    expect(advert).toMatchObject({ available: false });
    expect(advert!.reason).toMatch(/not logged in/i);
    expect(advert!.since).toBeGreaterThan(0);
    // What the operator reads in `switchyard agent show`.
    expect(formatAgent((await agentView(h, 'no-login')) as never)).toMatch(/claude\s+UNAVAILABLE since .*not logged in/i);

    const task = await createTask(h, { executor: 'claude', description: 'say hello' });
    await new Promise((r) => setTimeout(r, 400));
    const waiting = await show(h, task.id);
    expect(waiting.task.status).toBe('queued');
    expect(waiting.waiting).toMatch(/no-login: claude unavailable: .*not logged in/i);

    await sidecar(h, 'good', new Map([['claude', stub()]]));
    const done = await waitForTask(h, task.id, (s) => s.task.status === 'completed', 'the claude task to complete on the good host', 15_000);
    expect(assignedTo(done.events)).toEqual(['assigned to good']);
    expect(done.task.attempts).toBe(1);
  }, 60_000);

  it('a host whose Claude says "Not logged in" only when it runs hands the task back: no attempt counted, marked unavailable, done elsewhere', async () => {
    const h = await hub();
    // auth status says logged in, but runs end as the real CLI's do without credentials. Its
    // rechecks are far apart: a recheck (which this stub passes) would make it take the task again.
    await sidecar(h, 'lies', new Map([['claude', stub({ STUB_CLAUDE_TRANSCRIPT: 'not-logged-in' })]]), { recheckMinMs: 60_000, recheckMaxMs: 60_000 });
    const task = await createTask(h, { executor: 'claude', description: 'say hello', max_attempts: 1 });
    const handedBack = await waitForTask(h, task.id, (s) => s.task.status === 'queued' && s.task.last_error?.code === 'SIDECAR_EXECUTOR_UNAVAILABLE', 'the task to be handed back', 15_000);
    expect(handedBack.task.attempts).toBe(0);
    expect(handedBack.task.last_error!.message).toMatch(/lies: EXEC_UNAVAILABLE: Claude Code is not logged in.*Not logged in · Please run \/login/);
    const advert = await executorOf(h, 'lies', 'claude');
    expect(advert).toMatchObject({ available: false, reason: expect.stringMatching(/not logged in/) });
    expect(handedBack.waiting).toMatch(/lies: claude unavailable/);

    await sidecar(h, 'good', new Map([['claude', stub()]]));
    const done = await waitForTask(h, task.id, (s) => s.task.status === 'completed', 'the task to complete elsewhere', 15_000);
    // One attempt allowed, and it was not spent on the host that could not run it.
    expect(done.task.attempts).toBe(1);
    expect(assignedTo(done.events)).toEqual(['assigned to lies', 'assigned to good']);
  }, 60_000);
});

describe('Ollama down, then up; a model not pulled', () => {
  async function freePort(): Promise<number> {
    return new Promise((res) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const port = (srv.address() as { port: number }).port;
        srv.close(() => res(port));
      });
    });
  }

  it('an Ollama that refuses connections is unavailable; the task waits queued and runs once Ollama is up', async () => {
    const h = await hub();
    const port = await freePort();
    await sidecar(h, 'ol', new Map([['ollama', new OllamaExecutor({ baseUrl: `http://127.0.0.1:${port}` })]]));
    const advert = await executorOf(h, 'ol', 'ollama');
    expect(advert).toMatchObject({ available: false, reason: expect.stringMatching(/not reachable/) });
    const task = await createTask(h, { executor: 'ollama', model: 'qwen2.5-coder:7b', description: 'say hi' });
    await new Promise((r) => setTimeout(r, 300));
    expect((await show(h, task.id)).waiting).toMatch(/ol: ollama unavailable: .*not reachable/);

    const fake: FakeOllama = await startFakeOllama({ port });
    open.push(fake);
    fake.script({ content: 'hi there' });
    const done = await waitForTask(h, task.id, (s) => s.task.status === 'completed', 'the task to run once Ollama is up', 20_000);
    expect(done.task.attempts).toBe(1);
    expect((await executorOf(h, 'ol', 'ollama'))!.available).toBe(true);
  }, 60_000);

  it('a 404 "model not found" marks that model unavailable only; tasks for other models run; it comes back when pulled', async () => {
    const h = await hub();
    const fake = await startFakeOllama();
    open.push(fake);
    fake.strictModels = true;
    fake.models = [{ name: 'good:7b' }, { name: 'gone:7b' }];
    await sidecar(h, 'ol', new Map([['ollama', new OllamaExecutor({ baseUrl: fake.url })]]));
    // Removed after the sidecar listed it (ollama rm): the next chat for it answers 404.
    fake.models = [{ name: 'good:7b' }];
    const gone = await createTask(h, { executor: 'ollama', model: 'gone:7b', description: 'x' });
    const handedBack = await waitForTask(h, gone.id, (s) => s.task.last_error?.code === 'SIDECAR_EXECUTOR_UNAVAILABLE' && s.task.status === 'queued', 'the task for the missing model to be handed back', 15_000);
    expect(handedBack.task.attempts).toBe(0);
    expect(handedBack.task.last_error!.message).toMatch(/EXEC_MODEL_MISSING: .*model "gone:7b" not found/);
    const advert = (await executorOf(h, 'ol', 'ollama'))!;
    expect(advert.available).toBe(true);
    expect(advert.models).toEqual(['good:7b']);
    expect(advert.model_faults).toEqual([expect.objectContaining({ name: 'gone:7b', reason: expect.stringContaining('not found') })]);

    // The executor itself is fine: a task for another model runs on the same host.
    fake.script({ content: 'fine' });
    const good = await createTask(h, { executor: 'ollama', model: 'good:7b', description: 'y' });
    await waitFor(async () => (await show(h, good.id)).task.status === 'completed', 'the task for the good model', 15_000);
    expect((await show(h, gone.id)).task.status).toBe('queued');

    // Pulled again: the scheduled recheck lists it, the model fault clears, the task runs.
    fake.models = [{ name: 'good:7b' }, { name: 'gone:7b' }];
    fake.script({ content: 'back' });
    const done = await waitForTask(h, gone.id, (s) => s.task.status === 'completed', 'the task to run once the model is back', 20_000);
    expect(done.task.attempts).toBe(1);
    expect((await executorOf(h, 'ol', 'ollama'))!.model_faults).toBeUndefined();
  }, 60_000);
});

describe('a usage limit with a reset time', () => {
  it('makes Claude unavailable on that host until the reset, counts no attempt, and the task runs after it', async () => {
    const h = await hub();
    const reset = Math.ceil((Date.now() + 3000) / 1000);
    const executor = stub(limitedOnce(reset));
    await sidecar(h, 'limited', new Map([['claude', executor]]));
    const task = await createTask(h, { executor: 'claude', description: 'do it', max_attempts: 1 });

    const handedBack = await waitForTask(h, task.id, (s) => s.task.last_error?.code === 'SIDECAR_EXECUTOR_UNAVAILABLE', 'the task to be handed back at the limit', 15_000);
    expect(handedBack.task.attempts).toBe(0);
    expect(handedBack.task.last_error!.message).toMatch(/EXEC_USAGE_LIMIT/);
    const advert = (await executorOf(h, 'limited', 'claude'))!;
    expect(advert.available).toBe(false);
    expect(advert.until).toBe(reset * 1000);
    expect(Date.now()).toBeLessThan(reset * 1000);

    const done = await waitForTask(h, task.id, (s) => s.task.status === 'completed', 'the task to run after the reset', 20_000);
    expect(Date.now()).toBeGreaterThanOrEqual(reset * 1000);
    expect(done.task.attempts).toBe(1);
    expect((await executorOf(h, 'limited', 'claude'))!.available).toBe(true);
  }, 60_000);
});

describe('rechecks on operator request, and the fleet-wide alert', () => {
  it('POST /v1/agents/:id/recheck: the real CLI, logged in since (an API key), is available at once', async () => {
    // Heartbeats and scheduled rechecks far apart: only the operator's request can bring it back in time.
    const h = await startInprocHub({ listen: true, config: { heartbeatMs: 60_000 } });
    open.push(h);
    const env = loggedOutEnv();
    const claude = new ClaudeExecutor({ bin: REAL_CLAUDE, env });
    await sidecar(h, 'later', new Map([['claude', claude]]), { recheckMinMs: 600_000, recheckMaxMs: 600_000 });
    expect((await executorOf(h, 'later', 'claude'))!.available).toBe(false);

    const offline = await h.hub.app.inject({ method: 'POST', url: '/v1/agents/nobody/recheck', headers: h.auth() });
    expect(offline.statusCode).toBe(404);
    await h.addAgent('asleep');
    const asleep = await h.hub.app.inject({ method: 'POST', url: '/v1/agents/asleep/recheck', headers: h.auth() });
    expect(asleep.statusCode).toBe(409);
    expect(asleep.json()).toMatchObject({ code: 'AGENT_OFFLINE' });

    // The operator logs the host in (here: an API key, which `claude auth status` accepts offline).
    env.ANTHROPIC_API_KEY = 'sk-ant-api03-not-a-real-key';
    const res = await h.hub.app.inject({ method: 'POST', url: '/v1/agents/later/recheck', headers: h.auth() });
    expect(res.statusCode).toBe(202);
    await waitFor(async () => (await executorOf(h, 'later', 'claude'))?.available === true, 'claude to be available after the recheck', 15_000);
    expect((await executorOf(h, 'later', 'claude'))!.reason).toMatch(/logged in \(api_key\)/);
  }, 60_000);

  it('an executor gone on every connected agent raises EXECUTOR_GONE on the feed, and EXECUTOR_BACK when it returns', async () => {
    const h = await hub();
    const alerts: Array<{ code: string; executor: string; message: string }> = [];
    const real = h.hub.feed.publish.bind(h.hub.feed);
    h.hub.feed.publish = (m) => {
      if (m.type === 'alert') alerts.push(m.alert);
      real(m);
    };
    const slowRechecks = { recheckMinMs: 60_000, recheckMaxMs: 60_000 };
    await sidecar(h, 'a', new Map([['claude', stub({ STUB_CLAUDE_TRANSCRIPT: 'not-logged-in' })]]), slowRechecks);
    await sidecar(h, 'b', new Map([['claude', stub({ STUB_CLAUDE_TRANSCRIPT: 'not-logged-in' })]]), slowRechecks);
    // Both hand a task back: claude is then unavailable on both.
    await createTask(h, { executor: 'claude', description: 'one' });
    await createTask(h, { executor: 'claude', description: 'two' });
    await waitFor(() => alerts.some((x) => x.code === 'EXECUTOR_GONE'), 'the EXECUTOR_GONE alert', 15_000);
    const gone = alerts.find((x) => x.code === 'EXECUTOR_GONE')!;
    expect(gone.executor).toBe('claude');
    expect(gone.message).toMatch(/unavailable on every connected agent/);
    expect(gone.message).toMatch(/\ba: [^;]*not logged in/);
    expect(gone.message).toMatch(/\bb: [^;]*not logged in/);
    expect(alerts.filter((x) => x.code === 'EXECUTOR_GONE')).toHaveLength(1);
    // A third host that can run it: the alert resolves.
    await sidecar(h, 'c', new Map([['claude', stub()]]));
    await waitFor(() => alerts.some((x) => x.code === 'EXECUTOR_BACK'), 'the EXECUTOR_BACK alert', 15_000);
  }, 60_000);
});
