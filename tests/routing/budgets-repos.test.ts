/**
 * Routing meets budgets and the repo registry (docs/routing.md, "Repos and budgets"): agents on
 * the wire (raw WebSocket clients speaking the sidecar protocol), one with Claude, one with a warm
 * local model, and routed tasks of repo `web` whose chain starts on Claude.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Task } from '../../shared/task.js';
import { RawClient, RESOURCES, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';
import { runWithUsage } from '../support/usage-run.js';

const GB = 1024 ** 3;
const LARGE = 'qwen2.5-coder:32b';
let h: InprocHub;
const clients: RawClient[] = [];

beforeEach(async () => {
  h = await startInprocHub({ listen: true, config: { routingSweepMs: 50 } });
  const policy = {
    tiers: {
      trivial: { candidates: [`ollama:${LARGE}`] },
      standard: { candidates: [`ollama:${LARGE}`] },
      // Long waits: only a budget moves these tasks on.
      complex: { candidates: ['claude', `ollama:${LARGE}`], wait_ms: 3_600_000 },
    },
  };
  expect((await call('PUT', '/v1/routing/policy', policy)).status).toBe(200);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await h.close();
});

async function call(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await h.hub.app.inject({ method: method as 'GET', url, headers: h.auth(), ...(body !== undefined ? { payload: body as object } : {}) });
  return { status: res.statusCode, body: res.json() };
}

async function agent(id: string, executors: unknown[], gpuMb = 0): Promise<RawClient> {
  const token = await h.addAgent(id);
  const resources = gpuMb ? { ...RESOURCES, gpus: [{ index: 0, name: 'g', vram_total_mb: gpuMb, vram_used_mb: 0 }] } : RESOURCES;
  const c = await RawClient.connect(h.wsUrl, id, token, { executors, max_concurrency: 1, resources });
  clients.push(c);
  return c;
}

const claudeAgent = () => agent('cl', [{ name: 'claude', available: true, models: [] }, { name: 'shell', available: true, models: [] }]);
const ollamaAgent = () => agent('ol', [{ name: 'ollama', available: true, models: [LARGE], model_info: [{ name: LARGE, size_bytes: 20 * GB, loaded: true, vram_bytes: 20 * GB }] }], 24_576);

async function create(spec: Record<string, unknown>): Promise<Task> {
  const res = await call('POST', '/v1/tasks', spec);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as Task;
}

/** Spends `tokens` of repo web's day on the Claude agent (a shell task reporting usage). */
async function spend(cl: RawClient, tokens: number): Promise<void> {
  await create({ title: 'spend', repo: 'web', executor: 'shell', command: 'true' });
  await runWithUsage(h, cl, { input_tokens: tokens, output_tokens: 0, cost_usd: 0 }, 'claude');
}

const complexTask = () => create({ title: 'refactor the store', description: 'refactor', repo: 'web', supervision: 'auto' });
const offered = (c: RawClient) => c.received.filter((m) => m.type === 'task.assign').map((m) => (m.task as Task).id);

describe('budgets and routed tasks', () => {
  it('on_limit local: a routed task at a Claude stage moves on to the local model at once, saying why', async () => {
    const cl = await claudeAgent();
    const ol = await ollamaAgent();
    expect((await call('PUT', '/v1/budgets/web', { tokens_per_day: 100, on_limit: 'local' })).status).toBe(200);
    await spend(cl, 150);
    const t = await complexTask();
    expect(t.route!.chain).toEqual(['claude', `ollama:${LARGE}`]);
    const assign = await ol.nextOf('task.assign');
    const task = assign.task as Task;
    expect(task.id).toBe(t.id);
    expect(task.route!.moves).toEqual([expect.objectContaining({ from: 0, to: 1, reason: 'the budget of repo web is used up for today: local models only' })]);
    expect(task.route!.decision).toMatchObject({ agent_id: 'ol', executor: 'ollama', model: LARGE });
    expect(task).toMatchObject({ executor: 'ollama', model: LARGE });
    expect(offered(cl)).not.toContain(t.id);
  });

  it('on_limit wait: it waits at the Claude stage with the budget as its reason, and starts on Claude once the budget allows', async () => {
    const cl = await claudeAgent();
    await ollamaAgent();
    expect((await call('PUT', '/v1/budgets/web', { tokens_per_day: 100, on_limit: 'wait' })).status).toBe(200);
    await spend(cl, 150);
    const t = await complexTask();
    await new Promise((r) => setTimeout(r, 300));
    const shown = (await call('GET', `/v1/tasks/${t.id}`)).body;
    expect(shown.task).toMatchObject({ status: 'queued', route: { stage: 0, moves: [] } });
    expect(shown.waiting).toMatch(/budget of repo web is used up for today: it waits for claude \(a paid model\)/);
    expect(offered(cl)).not.toContain(t.id);

    expect((await call('PUT', '/v1/budgets/web', { tokens_per_day: 1000, on_limit: 'wait' })).status).toBe(200);
    const assign = await cl.nextOf('task.assign');
    expect((assign.task as Task).id).toBe(t.id);
    expect((assign.task as Task).route!.decision).toMatchObject({ agent_id: 'cl', executor: 'claude', candidate: 'claude' });
  });
});

describe('the repo registry and routed tasks', () => {
  it("a paused repo's routed task waits with the pause as its reason, and is placed when the repo resumes", async () => {
    expect((await call('POST', '/v1/repos', { name: 'web', url: 'https://example.com/web.git' })).status).toBe(201);
    expect((await call('POST', '/v1/repos/web/pause', { reason: 'release freeze' })).status).toBe(200);
    const ol = await ollamaAgent();
    const t = await create({ title: 'add a flag', description: 'implement it', repo: 'web' });
    expect(t.route!.chain[0]).toBe(`ollama:${LARGE}`);
    await new Promise((r) => setTimeout(r, 300));
    expect((await call('GET', `/v1/tasks/${t.id}`)).body.waiting).toBe('repo web is paused: release freeze');
    expect(offered(ol)).toEqual([]);
    expect((await call('POST', '/v1/repos/web/resume', {})).status).toBe(200);
    const assign = await ol.nextOf('task.assign');
    expect((assign.task as Task).id).toBe(t.id);
    await waitFor(async () => (await h.store.get(t.id))?.route?.decision?.agent_id === 'ol', 'the decision on the task');
  });
});

describe('what the router keeps true whatever the policy does', () => {
  it('a routed task already queued stays placeable after routing is turned off (its candidate is still offered)', async () => {
    const t = await create({ title: 'refactor the store', description: 'refactor', supervision: 'auto' });
    expect(t.route!.stage).toBe(0);
    const policy = (await call('GET', '/v1/routing/policy')).body.policy;
    expect((await call('PUT', '/v1/routing/policy', { ...policy, enabled: false })).status).toBe(200);
    // A new task is not routed now; the old one still waits for Claude, and a Claude agent that connects gets it.
    expect((await create({ title: 'plain' })).route).toBeUndefined();
    const cl = await claudeAgent();
    const assign = await cl.next((m) => m.type === 'task.assign' && (m.task as Task).id === t.id, 5000, 'the routed task');
    expect((assign.task as Task).route!.decision).toMatchObject({ agent_id: 'cl', candidate: 'claude' });
  });

  it("a paused repo's routed task does not walk its chain while it waits: its stage's wait starts again", async () => {
    const policy = (await call('GET', '/v1/routing/policy')).body.policy;
    expect((await call('PUT', '/v1/routing/policy', { ...policy, tiers: { ...policy.tiers, standard: { candidates: [`ollama:${LARGE}`, 'claude'], wait_ms: 100 } } })).status).toBe(200);
    expect((await call('POST', '/v1/repos', { name: 'web', url: 'https://example.com/web.git' })).status).toBe(201);
    expect((await call('POST', '/v1/repos/web/pause', { reason: 'freeze' })).status).toBe(200);
    const t = await create({ title: 'add a flag', description: 'implement it', repo: 'web' });
    await new Promise((r) => setTimeout(r, 600));
    expect((await h.store.get(t.id))!.route).toMatchObject({ stage: 0, moves: [] });
    // Resumed, with no agent for the first candidate: now it moves on after its wait.
    expect((await call('POST', '/v1/repos/web/resume', {})).status).toBe(200);
    await waitFor(async () => (await h.store.get(t.id))!.route!.stage === 1, 'the move after the wait', 5000);
  });

  it('refuses route: capabilities in a task (they are the router\u2019s) and candidates with characters a key cannot hold', async () => {
    const bad = await call('POST', '/v1/tasks', { title: 'sneaky', executor: 'claude', capabilities: ['route:ollama'] });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/set by the router/) });
    const policy = (await call('GET', '/v1/routing/policy')).body.policy;
    for (const candidate of ['ollama:foo!bar', 'ollama:a,b', 'ollama:a|b', 'claude: opus']) {
      const res = await call('PUT', '/v1/routing/policy', { ...policy, tiers: { ...policy.tiers, trivial: { candidates: [candidate] } } });
      expect(res.status, candidate).toBe(400);
    }
  });
});
