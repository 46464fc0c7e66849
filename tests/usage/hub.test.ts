/**
 * Usage and budgets through a real hub (LevelDB in a temp folder, 127.0.0.1) and agents speaking
 * the wire protocol by hand: results with usage are charged on the task and in GET /v1/usage;
 * budgets are set, listed and removed; a repo at its limit starts nothing on a paid executor and
 * its task says why, and with `local` it runs on an agent without one; budget_warning and
 * budget_exhausted fire once each as the spend crosses 80 % and 100 %, and clear when it is raised.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../shared/alerts.js';
import type { Task } from '../../shared/task.js';
import { RawClient, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';
import { runWithUsage } from '../support/usage-run.js';

let h: InprocHub;
const clients: RawClient[] = [];
beforeEach(async () => {
  h = await startInprocHub({ listen: true });
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await h.close();
});

const CLAUDE = [{ name: 'claude' as const, available: true, models: ['sonnet'] }];
const OLLAMA = [{ name: 'ollama' as const, available: true, models: ['qwen'] }];

async function call(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${h.url}${url}`, { method, headers: h.auth(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: await res.json() };
}

async function agent(id: string, executors: unknown[]): Promise<RawClient> {
  const token = await h.addAgent(id);
  const c = await RawClient.connect(h.wsUrl, id, token, { executors, max_concurrency: 1 });
  clients.push(c);
  return c;
}

/** Takes the next offer, accepts it and completes it with `usage`; returns the task. */
const runOne = (c: RawClient, usage: Record<string, number>, executor: string): Promise<Task> => runWithUsage(h, c, usage, executor);

async function create(spec: Record<string, unknown>): Promise<Task> {
  const res = await call('POST', '/v1/tasks', spec);
  expect(res.status).toBe(201);
  return res.body as Task;
}

describe('usage over REST', () => {
  it('charges each completed run on its task and answers GET /v1/usage grouped', async () => {
    const c = await agent('gpu1', CLAUDE);
    const t1 = await create({ title: 'a', repo: 'web', executor: 'claude', model: 'sonnet' });
    await runOne(c, { input_tokens: 100, output_tokens: 10, cost_usd: 0.5 }, 'claude');
    await create({ title: 'b', repo: 'api', executor: 'claude', model: 'sonnet' });
    await runOne(c, { input_tokens: 50, output_tokens: 5, cost_usd: 0.25 }, 'claude');
    const shown = (await call('GET', `/v1/tasks/${t1.id}`)).body.task as Task;
    expect(shown.usage).toMatchObject({ input_tokens: 100, output_tokens: 10, cost_usd: 0.5, runs: 1 });

    const byRepo = (await call('GET', '/v1/usage?by=repo')).body;
    expect(byRepo.rows).toEqual([
      { repo: 'api', input_tokens: 50, output_tokens: 5, cost_usd: 0.25, runs: 1 },
      { repo: 'web', input_tokens: 100, output_tokens: 10, cost_usd: 0.5, runs: 1 },
    ]);
    expect(byRepo.total).toEqual({ input_tokens: 150, output_tokens: 15, cost_usd: 0.75, runs: 2 });
    const today = new Date().toISOString().slice(0, 10);
    const byModel = (await call('GET', '/v1/usage?by=model,executor,day')).body;
    expect(byModel.rows).toEqual([{ day: today, executor: 'claude', model: 'sonnet', input_tokens: 150, output_tokens: 15, cost_usd: 0.75, runs: 2 }]);
    expect((await call('GET', '/v1/usage?since=2999-01-01')).body.total.runs).toBe(0);
    expect((await call('GET', '/v1/usage?by=colour')).status).toBe(400);
    const metrics = await (await fetch(`${h.url}/v1/metrics`, { headers: h.auth() })).text();
    expect(metrics).toMatch(/switchyard_tokens_total\{kind="input",model="sonnet",executor="claude"\} 150/);
    expect(metrics).toMatch(/switchyard_cost_usd_total\{model="sonnet",executor="claude"\} 0.75/);
  });
});

describe('budgets', () => {
  it('are set, listed with today\'s spend, refused without a limit, and removed', async () => {
    expect((await call('PUT', '/v1/budgets/web', {})).body.code).toBe('BUDGET_INVALID');
    const set = await call('PUT', '/v1/budgets/web', { cost_usd_per_day: 2, tokens_per_day: 1000 });
    expect(set.body).toMatchObject({ repo: 'web', cost_usd_per_day: 2, tokens_per_day: 1000, on_limit: 'wait', spent_cost_usd: 0, percent: 0, blocked: false });
    expect((await call('GET', '/v1/budgets')).body.budgets.map((b: { repo: string }) => b.repo)).toEqual(['web']);
    expect((await call('DELETE', '/v1/budgets/web')).status).toBe(200);
    expect((await call('DELETE', '/v1/budgets/web')).body.code).toBe('BUDGET_NOT_FOUND');
    expect((await call('GET', '/v1/budgets')).body.budgets).toEqual([]);
  });

  it("at the limit (wait) a repo's paid task does not start and says why; another repo's does; removing the budget lets it run", async () => {
    await call('PUT', '/v1/budgets/web', { cost_usd_per_day: 1 });
    const c = await agent('gpu1', CLAUDE);
    await create({ title: 'spend', repo: 'web', executor: 'claude' });
    await runOne(c, { input_tokens: 10, output_tokens: 10, cost_usd: 1.5 }, 'claude');
    const listed = (await call('GET', '/v1/budgets')).body.budgets[0];
    expect(listed).toMatchObject({ blocked: true, percent: 150, spent_cost_usd: 1.5 });

    const blocked = await create({ title: 'more', repo: 'web', executor: 'claude' });
    const other = await create({ title: 'other repo', repo: 'api', executor: 'claude' });
    const offer = await c.nextOf('task.assign');
    expect((offer.task as Task).id).toBe(other.id);
    const shown = (await call('GET', `/v1/tasks/${blocked.id}`)).body;
    expect(shown.task.status).toBe('queued');
    expect(shown.waiting).toMatch(/budget of repo web is exhausted/);
    // Finish the other repo's task: the agent is free, and still gets nothing of web.
    const g = offer.generation as number;
    c.send({ type: 'task.accept', id: 'acc-x', task_id: other.id, generation: g });
    c.send({ type: 'task.complete', id: 'done-x', task_id: other.id, generation: g, result: {} });
    await waitFor(async () => (await call('GET', `/v1/tasks/${other.id}`)).body.task.status === 'completed', 'the other task completed');
    expect((await call('GET', `/v1/tasks/${blocked.id}`)).body.task.status).toBe('queued');

    await call('DELETE', '/v1/budgets/web');
    const next = await c.nextOf('task.assign');
    expect((next.task as Task).id).toBe(blocked.id);
  });

  it("with routing off and on_limit local, a task that names no executor runs on an agent without a paid one, never on the paid agent", async () => {
    // With routing on, such a task is routed and its candidate decides (tests/routing/budgets-repos.test.ts).
    const policy = (await call('GET', '/v1/routing/policy')).body.policy;
    expect((await call('PUT', '/v1/routing/policy', { ...policy, enabled: false })).status).toBe(200);
    await call('PUT', '/v1/budgets/web', { tokens_per_day: 100, on_limit: 'local' });
    const paid = await agent('cloud', CLAUDE);
    await create({ title: 'spend', repo: 'web', executor: 'claude' });
    await runOne(paid, { input_tokens: 80, output_tokens: 40, cost_usd: 0.1 }, 'claude');
    expect((await call('GET', '/v1/budgets')).body.budgets[0]).toMatchObject({ blocked: true, spent_tokens: 120 });

    const named = await create({ title: 'names claude', repo: 'web', executor: 'claude' });
    const free = await create({ title: 'any executor', repo: 'web' });
    expect((await call('GET', `/v1/tasks/${free.id}`)).body.waiting).toMatch(/budget of repo web is exhausted/);
    const local = await agent('box', OLLAMA);
    const offer = await local.nextOf('task.assign');
    expect((offer.task as Task).id).toBe(free.id);
    // The paid agent was offered neither; the task that names claude still waits.
    expect(paid.unread().filter((m) => m.type === 'task.assign')).toEqual([]);
    expect((await call('GET', `/v1/tasks/${named.id}`)).body.task.status).toBe('queued');
  });

  it('raises budget_warning at 80 % and budget_exhausted at 100 % once each, with the repo as subject, and clears both when the budget is raised', async () => {
    const check = async () => {
      await h.hub.services.alerts.check();
      return ((await call('GET', '/v1/alerts?state=all')).body.alerts as Alert[]).filter((a) => a.rule.startsWith('budget_'));
    };
    await call('PUT', '/v1/budgets/web', { cost_usd_per_day: 1 });
    const c = await agent('gpu1', CLAUDE);
    await create({ title: 'under', repo: 'web', executor: 'claude' });
    await runOne(c, { input_tokens: 10, output_tokens: 10, cost_usd: 0.7 }, 'claude');
    expect(await check()).toEqual([]);

    await create({ title: 'to 85 %', repo: 'web', executor: 'claude' });
    await runOne(c, { input_tokens: 10, output_tokens: 10, cost_usd: 0.15 }, 'claude');
    const [warning, ...none] = await check();
    expect(none).toEqual([]);
    expect(warning).toMatchObject({ rule: 'budget_warning', severity: 'warning', state: 'active', count: 1, subject: { repo: 'web' } });
    expect(warning!.message).toMatch(/repo web has spent \$0\.85 of \$1\/day \(85%\)/);

    await create({ title: 'past 100 %', repo: 'web', executor: 'claude' });
    await runOne(c, { input_tokens: 10, output_tokens: 10, cost_usd: 0.3 }, 'claude');
    await check();
    const both = await check(); // a second check fires nothing more
    expect(both.map((a) => [a.rule, a.severity, a.state, a.count, a.subject])).toEqual([
      ['budget_exhausted', 'critical', 'active', 1, { repo: 'web' }],
      ['budget_warning', 'warning', 'active', 1, { repo: 'web' }],
    ]);
    expect(both[1]!.id).toBe(warning!.id);

    await call('PUT', '/v1/budgets/web', { cost_usd_per_day: 10 });
    const cleared = await check();
    expect(cleared.map((a) => [a.rule, a.state])).toEqual([
      ['budget_exhausted', 'cleared'],
      ['budget_warning', 'cleared'],
    ]);
  });
});
