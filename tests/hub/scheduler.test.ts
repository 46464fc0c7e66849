/**
 * The scheduler over real sockets: placement across agents, routing by executor and model,
 * direct delegation and its fallback, and the race between a fill and a new task.
 */
import { afterEach, describe, expect, test } from 'vitest';
import type { Task } from '../../shared/task.js';
import type { TaskStore } from '../../hub/store/task-store.js';
import { RawClient, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub;
const clients: RawClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await h?.close();
});

async function connect(id: string, over: Record<string, unknown> = {}): Promise<RawClient> {
  const token = await h.addAgent(id);
  const c = await RawClient.connect(h.wsUrl, id, token, over);
  clients.push(c);
  return c;
}

async function create(spec: Record<string, unknown>): Promise<Task> {
  const res = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: spec });
  expect(res.statusCode).toBe(201);
  return res.json() as Task;
}

describe('scheduler', () => {
  test('tasks queued one by one while a fill is in flight all reach the agent (no task left behind)', async () => {
    h = await startInprocHub({ listen: true });
    const c = await connect('wide', { max_concurrency: 40 });
    for (let i = 0; i < 40; i++) await create({ title: `t${i}`, executor: 'shell', command: 'true' });
    const assigned = await waitFor(() => c.received.filter((m) => m.type === 'task.assign').length === 40 && true, '40 assignments');
    expect(assigned).toBe(true);
    expect((await h.store.stats()).queued).toEqual({ urgent: 0, high: 0, normal: 0, low: 0 });
  });

  test('routes by executor and model: only an agent that advertises them gets the task', async () => {
    h = await startInprocHub({ listen: true });
    const shellOnly = await connect('shell-box');
    const gpu = await connect('gpu-box', { executors: [{ name: 'ollama', available: true, models: ['qwen2.5-coder:7b'] }] });
    const task = await create({ title: 'code', executor: 'ollama', model: 'qwen2.5-coder:7b', description: 'write it' });
    expect(task.capabilities).toEqual(['executor:ollama', 'model:qwen2.5-coder:7b']);
    const assign = await gpu.nextOf('task.assign');
    expect((assign.task as Task).id).toBe(task.id);
    expect(shellOnly.received.some((m) => m.type === 'task.assign')).toBe(false);
  });

  test('places on the least loaded agent', async () => {
    h = await startInprocHub({ listen: true });
    const a = await connect('a', { max_concurrency: 4 });
    const b = await connect('b', { max_concurrency: 4 });
    // Offers start once each hello is reconciled.
    await waitFor(() => h.hub.registry.get('a')?.ready && h.hub.registry.get('b')?.ready, 'both agents ready');
    for (let i = 0; i < 4; i++) await create({ title: `t${i}`, executor: 'shell', command: 'true' });
    const count = (c: RawClient) => c.received.filter((m) => m.type === 'task.assign').length;
    await waitFor(() => count(a) + count(b) === 4, 'four assignments');
    expect(count(a)).toBe(2);
    expect(count(b)).toBe(2);
  });

  test('direct delegation: the named agent gets the task even when another is less loaded', async () => {
    h = await startInprocHub({ listen: true });
    const other = await connect('other');
    const named = await connect('named', { max_concurrency: 2 });
    const task = await create({ title: 'for named', executor: 'shell', command: 'true', agent: 'named' });
    const assign = await named.nextOf('task.assign');
    expect((assign.task as Task).id).toBe(task.id);
    expect(other.received.some((m) => m.type === 'task.assign')).toBe(false);
  });

  test('direct delegation falls back to another agent when the named one is offline', async () => {
    h = await startInprocHub({ listen: true });
    await h.addAgent('asleep');
    const other = await connect('other');
    const task = await create({ title: 'for asleep', executor: 'shell', command: 'true', agent: 'asleep' });
    const assign = await other.nextOf('task.assign');
    expect((assign.task as Task).id).toBe(task.id);
    expect((assign.task as Task).delegate).toBeNull();
    expect((assign.task as Task).agent).toBe('asleep');
  });

  test('direct delegation falls back when the named agent rejects', async () => {
    h = await startInprocHub({ listen: true });
    const named = await connect('named');
    const task = await create({ title: 'for named', executor: 'shell', command: 'true', agent: 'named' });
    const first = await named.nextOf('task.assign');
    const other = await connect('other');
    named.send({ type: 'task.reject', id: 'r1', task_id: task.id, generation: first.generation, code: 'SIDECAR_REPO_UNKNOWN', reason: 'no repo' });
    await named.next((m) => m.type === 'ack' && m.id === 'r1');
    const second = await other.nextOf('task.assign');
    expect((second.task as Task).id).toBe(task.id);
    expect(second.generation).toBe((first.generation as number) + 1);
  });
});

/** The store as a backend without `onApplied` would be: it declares so, and has no such method. */
function withoutOnApplied(store: TaskStore): TaskStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'supports') return { ...target.supports, onApplied: false };
      if (prop === 'onApplied') return undefined;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('scheduler on a store without onApplied', () => {
  test('places on durable changes instead: queued tasks reach the agent, and a rejected one goes to another', async () => {
    h = await startInprocHub({ listen: true, storeView: withoutOnApplied });
    expect(h.hub.store.supports.onApplied).toBe(false);
    const named = await connect('named', { max_concurrency: 5 });
    await waitFor(() => h.hub.registry.get('named')?.ready, 'agent ready');
    for (let i = 0; i < 4; i++) await create({ title: `t${i}`, executor: 'shell', command: 'true' });
    await waitFor(() => named.received.filter((m) => m.type === 'task.assign').length === 4, 'four assignments');
    const task = await create({ title: 'for named', executor: 'shell', command: 'true', agent: 'named' });
    const other = await connect('other');
    const first = await named.next((m) => m.type === 'task.assign' && (m.task as Task).id === task.id);
    named.send({ type: 'task.reject', id: 'r1', task_id: task.id, generation: first.generation, code: 'SIDECAR_REPO_UNKNOWN', reason: 'no repo' });
    const second = await other.nextOf('task.assign');
    expect((second.task as Task).id).toBe(task.id);
    expect((await h.store.stats()).queued).toEqual({ urgent: 0, high: 0, normal: 0, low: 0 });
  });
});

describe('framework errors', () => {
  test('a malformed URL gets the standard error body', async () => {
    h = await startInprocHub();
    const res = await h.hub.app.inject({ method: 'GET', url: '/v1/tasks/%', headers: h.auth() });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', retryable: false });
  });
});

describe('the agent view', () => {
  test('counts active and completed-today tasks, and says since when an agent is idle', async () => {
    h = await startInprocHub({ listen: true });
    const c = await connect('w1');
    const agentView = async () => {
      const res = await h.hub.app.inject({ method: 'GET', url: '/v1/agents/w1', headers: h.auth() });
      expect(res.statusCode).toBe(200);
      return res.json() as { state: string; idle_since: number | null; completed_today: number; tasks: unknown[] };
    };
    const idle = await waitFor(async () => {
      const a = await agentView();
      return a.state === 'idle' ? a : undefined;
    }, 'w1 to be idle');
    expect(idle!.completed_today).toBe(0);
    expect(idle!.idle_since).toBeGreaterThan(0);

    const t = await create({ title: 'compile', executor: 'shell', command: 'make' });
    const assign = await c.nextOf('task.assign');
    const generation = assign.generation as number;
    c.send({ type: 'task.accept', id: 'a1', task_id: t.id, generation });
    await waitFor(async () => (await agentView()).state === 'working', 'w1 to be working');
    const working = await agentView();
    expect(working).toMatchObject({ idle_since: null, completed_today: 0 });
    expect(working.tasks).toHaveLength(1);
    c.send({ type: 'task.complete', id: 'c1', task_id: t.id, generation, result: { exit_code: 0, summary: 'built' } });
    const after = await waitFor(async () => {
      const a = await agentView();
      return a.state === 'idle' ? a : undefined;
    }, 'w1 to be idle again');
    expect(after!.completed_today).toBe(1);
    expect(after!.idle_since!).toBeGreaterThanOrEqual(idle!.idle_since!);
    expect(after!.tasks).toEqual([]);
  });
});

describe('agent priority', () => {
  test('among equally loaded agents the operator’s priority decides, for a new task and for a delegated task’s fallback', async () => {
    h = await startInprocHub({ listen: true });
    const low = await connect('low');
    const high = await connect('high');
    await waitFor(() => h.hub.registry.get('low')?.ready && h.hub.registry.get('high')?.ready, 'both ready');
    const patch = (id: string, payload: Record<string, unknown>) => h.hub.app.inject({ method: 'PATCH', url: `/v1/agents/${id}`, headers: h.auth(), payload });
    const set = await patch('high', { priority: 5 });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({ id: 'high', priority: 5 });
    expect((await h.hub.app.inject({ method: 'GET', url: '/v1/agents/low', headers: h.auth() })).json()).toMatchObject({ priority: 0 });

    // Delegated to an agent that is not connected: the fallback is the higher priority.
    const delegated = await create({ title: 'for absent', executor: 'shell', command: 'true', agent: 'absent' });
    const first = await high.nextOf('task.assign');
    expect((first.task as Task).id).toBe(delegated.id);
    high.send({ type: 'task.accept', id: 'a1', task_id: delegated.id, generation: first.generation });
    high.send({ type: 'task.complete', id: 'c1', task_id: delegated.id, generation: first.generation, result: {} });
    await waitFor(async () => (await h.store.get(delegated.id))?.status === 'completed', 'the first task to complete');
    await waitFor(() => h.hub.registry.get('high')?.leases.size === 0, 'high to be free');

    // The operator raises the other agent: the next task goes there at once.
    expect((await patch('low', { priority: 10 })).statusCode).toBe(200);
    const next = await create({ title: 'next', executor: 'shell', command: 'true' });
    expect(((await low.nextOf('task.assign')).task as Task).id).toBe(next.id);
    expect(high.unread().filter((m) => m.type === 'task.assign')).toEqual([]);
  });

  test('a bad priority is refused with a clear error, an unknown agent is not found', async () => {
    h = await startInprocHub();
    await h.addAgent('w1');
    const patch = (id: string, payload: Record<string, unknown>) => h.hub.app.inject({ method: 'PATCH', url: `/v1/agents/${id}`, headers: h.auth(), payload });
    for (const payload of [{ priority: 101 }, { priority: 1.5 }, {}, { priority: 1, token_hash: 'x' }]) {
      const res = await patch('w1', payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    expect((await patch('nobody', { priority: 1 })).json()).toMatchObject({ code: 'AGENT_NOT_FOUND' });
    expect((await h.hub.app.inject({ method: 'PATCH', url: '/v1/agents/w1', payload: { priority: 1 } })).statusCode).toBe(401);
  });
});
