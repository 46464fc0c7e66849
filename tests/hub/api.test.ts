/**
 * The REST API through fastify's inject() (no socket), on a real hub over real LevelDB stores:
 * authentication, task creation (single, idempotent, batch), listing and paging, show, cancel,
 * retry, agents, health, every kind of bad input (each a `{code, message, retryable}` with its
 * table status, and nothing written), and that tokens never reach the logs.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { ERROR_CODES, type ErrorCode } from '../../shared/errors.js';
import type { Task, TaskEvent } from '../../shared/task.js';
import { ADMIN_TOKEN, startInprocHub, type InprocHub } from '../support/hub-inproc.js';

/** The hub's small body limit for these tests, so "too large" is cheap to send. */
const BODY_LIMIT = 4096;

let h: InprocHub;

beforeEach(async () => {
  h = await startInprocHub({ config: { bodyLimitBytes: BODY_LIMIT } });
});

afterEach(async () => {
  await h.close();
});

type Method = 'GET' | 'POST' | 'DELETE';

function call(method: Method, url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return h.hub.app.inject({
    method,
    url,
    headers: h.auth(headers),
    ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
  });
}

/** Asserts the wire error shape, its code, and that the status and retryable flag follow the table. */
function expectError(res: LightMyRequestResponse, status: number, code: ErrorCode): Record<string, unknown> {
  const body = res.json() as Record<string, unknown>;
  expect({ status: res.statusCode, code: body.code }).toEqual({ status, code });
  expect(ERROR_CODES[code].status).toBe(status);
  expect(typeof body.message).toBe('string');
  expect((body.message as string).length).toBeGreaterThan(0);
  expect(body.retryable).toBe(ERROR_CODES[code].retryable);
  // Only the wire fields; `details` is the one optional extra.
  for (const key of Object.keys(body)) expect(['code', 'message', 'retryable', 'details']).toContain(key);
  expect(res.headers['content-type']).toMatch(/application\/json/);
  return body;
}

/** Everything a bad request could have written: the audit log, the counts, the task list. */
async function snapshot(): Promise<unknown> {
  const events = await h.store.events({ limit: 1000 });
  const tasks = await h.store.list({ limit: 1000 });
  return { events: events.items, stats: await h.store.stats(), tasks: tasks.items, agents: await h.agents.list() };
}

async function createTask(spec: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Task> {
  const res = await call('POST', '/v1/tasks', { title: 'a task', ...spec }, headers);
  expect(res.statusCode).toBe(201);
  return res.json() as Task;
}

describe('authentication', () => {
  it('refuses a request without a token with 401 UNAUTHORIZED', async () => {
    const res = await h.hub.app.inject({ method: 'GET', url: '/v1/tasks' });
    const body = expectError(res, 401, 'UNAUTHORIZED');
    expect(body.message).toMatch(/missing bearer token/);
  });

  it('refuses a wrong token and a malformed Authorization header with 401', async () => {
    const wrong = await h.hub.app.inject({ method: 'GET', url: '/v1/tasks', headers: { authorization: 'Bearer sya_not-the-token' } });
    expectError(wrong, 401, 'UNAUTHORIZED');
    const basic = await h.hub.app.inject({ method: 'GET', url: '/v1/tasks', headers: { authorization: `Basic ${ADMIN_TOKEN}` } });
    expectError(basic, 401, 'UNAUTHORIZED');
  });

  it("refuses an agent's token on the REST API with 403 FORBIDDEN", async () => {
    const token = await h.addAgent('worker-1');
    const before = await snapshot();
    for (const [method, url, payload] of [
      ['GET', '/v1/tasks', undefined],
      ['POST', '/v1/tasks', { title: 'sneaky' }],
      ['GET', '/v1/agents', undefined],
      ['DELETE', '/v1/agents/worker-1', undefined],
    ] as const) {
      const res = await h.hub.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
      expectError(res, 403, 'FORBIDDEN');
    }
    expect(await snapshot()).toEqual(before);
  });

  it('serves GET /v1/health without a token', async () => {
    const res = await h.hub.app.inject({ method: 'GET', url: '/v1/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('ok');
  });
});

describe('POST /v1/tasks', () => {
  it('creates a task: 201 with the stored record and a created event', async () => {
    const res = await call('POST', '/v1/tasks', { title: 'build it', lane: 'high', repo: 'web', command: 'make', executor: 'shell' });
    expect(res.statusCode).toBe(201);
    const task = res.json() as Task;
    expect(task).toMatchObject({ title: 'build it', lane: 'high', repo: 'web', status: 'queued', generation: 0, created_by: 'admin' });
    // Naming an executor routes the task to agents that offer it.
    expect(task.capabilities).toContain('executor:shell');
    expect(await h.store.get(task.id)).toEqual(task);
    const events = (await call('GET', '/v1/events')).json().events as TaskEvent[];
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ task_id: task.id, type: 'created', to: 'queued', actor: 'admin' });
  });

  it('answers the same Idempotency-Key with 200 and the same task, writing nothing', async () => {
    const first = await call('POST', '/v1/tasks', { title: 'once' }, { 'idempotency-key': 'deploy-42' });
    expect(first.statusCode).toBe(201);
    const before = await snapshot();
    const again = await call('POST', '/v1/tasks', { title: 'once' }, { 'idempotency-key': 'deploy-42' });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    expect(again.json().idempotency_key).toBe('deploy-42');
    // The body key alone finds it too.
    const byBody = await call('POST', '/v1/tasks', { title: 'once', idempotency_key: 'deploy-42' });
    expect(byBody.statusCode).toBe(200);
    expect(byBody.json().id).toBe(first.json().id);
    expect((await call('GET', '/v1/events')).json().events).toHaveLength(1);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an Idempotency-Key header that differs from the body key (400), writing nothing', async () => {
    const before = await snapshot();
    const res = await call('POST', '/v1/tasks', { title: 'x', idempotency_key: 'a' }, { 'idempotency-key': 'b' });
    const body = expectError(res, 400, 'VALIDATION_FAILED');
    expect(body.message).toMatch(/Idempotency-Key/);
    expect(await snapshot()).toEqual(before);
  });
});

describe('POST /v1/tasks/batch', () => {
  it('creates a batch whose tasks depend on each other by ref (201)', async () => {
    const res = await call('POST', '/v1/tasks/batch', {
      tasks: [
        { ref: 'test', title: 'test', depends_on: ['build'] },
        { ref: 'build', title: 'build' },
        { title: 'deploy', depends_on: ['test', 'build'] },
      ],
    });
    expect(res.statusCode).toBe(201);
    const { tasks, created } = res.json() as { tasks: Task[]; created: boolean[] };
    expect(created).toEqual([true, true, true]);
    const [test, build, deploy] = tasks as [Task, Task, Task];
    expect(build.status).toBe('queued');
    expect(test).toMatchObject({ status: 'pending', depends_on: [build.id] });
    expect(deploy.status).toBe('pending');
    expect([...deploy.depends_on].sort()).toEqual([build.id, test.id].sort());
    expect([...build.dependants!].sort()).toEqual([deploy.id, test.id].sort());
    expect((await h.store.verifyIntegrity()).ok).toBe(true);
  });

  it('refuses a cycle with 400 DEPENDENCY_CYCLE and writes nothing', async () => {
    await createTask({ title: 'existing' });
    const before = await snapshot();
    const res = await call('POST', '/v1/tasks/batch', {
      tasks: [
        { ref: 'a', title: 'a', depends_on: ['c'] },
        { ref: 'b', title: 'b', depends_on: ['a'] },
        { ref: 'c', title: 'c', depends_on: ['b'] },
      ],
    });
    const body = expectError(res, 400, 'DEPENDENCY_CYCLE');
    expect(body.message).toMatch(/a -> .* -> a|b -> .* -> b|c -> .* -> c/);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an unknown dependency with 400 UNKNOWN_DEPENDENCY and writes nothing of the batch', async () => {
    const before = await snapshot();
    const res = await call('POST', '/v1/tasks/batch', {
      tasks: [
        { ref: 'ok', title: 'fine on its own' },
        { title: 'needs a ghost', depends_on: ['ok', 'no-such-task'] },
      ],
    });
    const body = expectError(res, 400, 'UNKNOWN_DEPENDENCY');
    expect(body.message).toMatch(/no-such-task/);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses bad batch bodies with 400 VALIDATION_FAILED', async () => {
    const before = await snapshot();
    expectError(await call('POST', '/v1/tasks/batch', { tasks: [] }), 400, 'VALIDATION_FAILED');
    expectError(await call('POST', '/v1/tasks/batch', { tasks: 'many' }), 400, 'VALIDATION_FAILED');
    expectError(await call('POST', '/v1/tasks/batch', { tasks: [{ title: 'x' }], extra: 1 }), 400, 'VALIDATION_FAILED');
    const bad = expectError(await call('POST', '/v1/tasks/batch', { tasks: [{ title: 'x' }, { title: 7 }] }), 400, 'VALIDATION_FAILED');
    expect(bad.message).toMatch(/tasks\[1\]/);
    expectError(
      await call('POST', '/v1/tasks/batch', { tasks: [{ ref: 'r', title: 'x' }, { ref: 'r', title: 'y' }] }),
      400,
      'VALIDATION_FAILED',
    );
    expect(await snapshot()).toEqual(before);
  });
});

describe('GET /v1/tasks', () => {
  it('filters by status, lane and repo, and pages with a cursor', async () => {
    const a = await createTask({ title: 'a', lane: 'urgent', repo: 'web' });
    const b = await createTask({ title: 'b', lane: 'low', repo: 'web' });
    const c = await createTask({ title: 'c', lane: 'urgent', repo: 'api' });
    const d = await createTask({ title: 'd', repo: 'api', depends_on: [a.id] }); // pending
    const e = await createTask({ title: 'e' });

    const ids = async (query: string) => ((await call('GET', `/v1/tasks${query}`)).json().tasks as Task[]).map((t) => t.id);
    expect(await ids('')).toEqual([a.id, b.id, c.id, d.id, e.id]);
    expect(await ids('?status=pending')).toEqual([d.id]);
    expect(await ids('?status=queued')).toEqual([a.id, b.id, c.id, e.id]);
    expect(await ids('?lane=urgent')).toEqual([a.id, c.id]);
    expect(await ids('?repo=api')).toEqual([c.id, d.id]);
    expect(await ids('?repo=web&lane=low')).toEqual([b.id]);
    expect(await ids('?status=completed')).toEqual([]);

    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const res = await call('GET', `/v1/tasks?limit=2${after ? `&after=${after}` : ''}`);
      expect(res.statusCode).toBe(200);
      const page = res.json() as { tasks: Task[]; next: string | null };
      expect(page.tasks.length).toBeLessThanOrEqual(2);
      seen.push(...page.tasks.map((t) => t.id));
      after = page.next;
      pages++;
    } while (after !== null && pages < 10);
    expect(seen).toEqual([a.id, b.id, c.id, d.id, e.id]);
    expect(pages).toBeGreaterThanOrEqual(3);
  });
});

describe('GET /v1/tasks/:id and actions', () => {
  it('shows a task with its events, and 404 TASK_NOT_FOUND for an unknown id', async () => {
    const t = await createTask({ title: 'show me' });
    const res = await call('GET', `/v1/tasks/${t.id}`);
    expect(res.statusCode).toBe(200);
    const body = res.json() as { task: Task; events: TaskEvent[] };
    expect(body.task).toEqual(t);
    expect(body.events.map((e) => [e.type, e.to])).toEqual([['created', 'queued']]);
    const missing = expectError(await call('GET', '/v1/tasks/01NOSUCHTASK'), 404, 'TASK_NOT_FOUND');
    expect(missing.message).toMatch(/01NOSUCHTASK/);
    expectError(await call('POST', '/v1/tasks/01NOSUCHTASK/cancel'), 404, 'TASK_NOT_FOUND');
  });

  it('cancels a task once; cancelling again is 409 ILLEGAL_TRANSITION and changes nothing', async () => {
    const t = await createTask();
    const res = await call('POST', `/v1/tasks/${t.id}/cancel`, { reason: 'not needed' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: t.id, status: 'cancelled' });
    const events = (await call('GET', `/v1/tasks/${t.id}`)).json().events as TaskEvent[];
    expect(events.at(-1)).toMatchObject({ from: 'queued', to: 'cancelled', actor: 'admin', reason: 'not needed' });
    const before = await snapshot();
    expectError(await call('POST', `/v1/tasks/${t.id}/cancel`), 409, 'ILLEGAL_TRANSITION');
    expectError(await call('POST', `/v1/tasks/${t.id}/cancel`, { reason: 42 }), 400, 'VALIDATION_FAILED');
    expect(expectError(await call('POST', `/v1/tasks/${t.id}/cancel`, { reason: 'x', force: true }), 400, 'VALIDATION_FAILED').message).toMatch(/force/);
    expect(await snapshot()).toEqual(before);
  });

  it('retries a dead-lettered task', async () => {
    const t = await createTask({ title: 'fragile', command: 'false', max_attempts: 1 });
    const leased = await h.store.leaseTask(t.id, { agentId: 'w1', capabilities: [], repos: null });
    expect(leased?.status).toBe('assigned');
    await h.store.accept(t.id, leased!.generation, 'w1');
    const dead = await h.store.fail(t.id, leased!.generation, 'w1', { code: 'EXEC_EXIT_NONZERO', message: 'exit 1', retryable: true });
    expect(dead.status).toBe('dead_letter');

    // Only dead-lettered or failed tasks can be retried.
    const queued = await createTask({ title: 'healthy' });
    const before = await snapshot();
    expectError(await call('POST', `/v1/tasks/${queued.id}/retry`), 409, 'ILLEGAL_TRANSITION');
    expect(await snapshot()).toEqual(before);

    const res = await call('POST', `/v1/tasks/${t.id}/retry`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: t.id, status: 'queued', attempts: 0, last_error: { code: 'EXEC_EXIT_NONZERO' } });
    const events = (await call('GET', `/v1/tasks/${t.id}`)).json().events as TaskEvent[];
    expect(events.map((e) => e.to)).toEqual(['queued', 'assigned', 'running', 'dead_letter', 'queued']);
    expect(events.at(-1)).toMatchObject({ actor: 'admin', reason: 'retried by operator' });
  });
});

describe('bad input', () => {
  const cases: Array<{ name: string; status: number; code: ErrorCode; send: () => Promise<LightMyRequestResponse> }> = [
    {
      name: 'invalid JSON body',
      status: 400,
      code: 'VALIDATION_FAILED',
      send: () => h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth({ 'content-type': 'application/json' }), payload: '{"title": "x",' }),
    },
    {
      name: 'empty JSON body',
      status: 400,
      code: 'VALIDATION_FAILED',
      send: () => h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth({ 'content-type': 'application/json' }), payload: '' }),
    },
    {
      name: 'a JSON array instead of an object',
      status: 400,
      code: 'VALIDATION_FAILED',
      send: () => h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth({ 'content-type': 'application/json' }), payload: '[{"title":"x"}]' }),
    },
    {
      name: 'a JSON string instead of an object',
      status: 400,
      code: 'VALIDATION_FAILED',
      send: () => h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth({ 'content-type': 'application/json' }), payload: '"title"' }),
    },
    {
      name: 'a body that is not JSON at all (text/plain)',
      status: 400,
      code: 'VALIDATION_FAILED',
      send: () => h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth({ 'content-type': 'text/plain' }), payload: 'title=x' }),
    },
    { name: 'missing title', status: 400, code: 'VALIDATION_FAILED', send: () => call('POST', '/v1/tasks', { description: 'no title' }) },
    { name: 'title of the wrong type', status: 400, code: 'VALIDATION_FAILED', send: () => call('POST', '/v1/tasks', { title: 42 }) },
    { name: 'max_attempts as a string', status: 400, code: 'VALIDATION_FAILED', send: () => call('POST', '/v1/tasks', { title: 'x', max_attempts: '3' }) },
    { name: 'max_attempts of 0', status: 400, code: 'VALIDATION_FAILED', send: () => call('POST', '/v1/tasks', { title: 'x', max_attempts: 0 }) },
    { name: 'unknown lane', status: 400, code: 'VALIDATION_FAILED', send: () => call('POST', '/v1/tasks', { title: 'x', lane: 'asap' }) },
    { name: 'unknown field', status: 400, code: 'VALIDATION_FAILED', send: () => call('POST', '/v1/tasks', { title: 'x', priority: 1 }) },
    { name: 'unknown executor', status: 400, code: 'VALIDATION_FAILED', send: () => call('POST', '/v1/tasks', { title: 'x', executor: 'python' }) },
    { name: 'a shell task without a command', status: 400, code: 'VALIDATION_FAILED', send: () => call('POST', '/v1/tasks', { title: 'x', executor: 'shell' }) },
    { name: 'an empty idempotency key header', status: 400, code: 'VALIDATION_FAILED', send: () => call('POST', '/v1/tasks', { title: 'x' }, { 'idempotency-key': '' }) },
    {
      name: 'a body over the body limit',
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      send: () => call('POST', '/v1/tasks', { title: 'big', description: 'x'.repeat(BODY_LIMIT * 2) }),
    },
    {
      name: 'a batch over the body limit',
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      send: () => call('POST', '/v1/tasks/batch', { tasks: Array.from({ length: 200 }, (_, i) => ({ title: `task number ${i}` })) }),
    },
    {
      name: 'an action body with an unknown field',
      status: 400,
      code: 'VALIDATION_FAILED',
      send: async () => call('POST', `/v1/tasks/${(await h.store.list({ limit: 1 })).items[0]?.id ?? 'none'}/cancel`, { force: true }),
    },
    { name: 'limit=abc', status: 400, code: 'VALIDATION_FAILED', send: () => call('GET', '/v1/tasks?limit=abc') },
    { name: 'limit=0', status: 400, code: 'VALIDATION_FAILED', send: () => call('GET', '/v1/tasks?limit=0') },
    { name: 'limit=1001', status: 400, code: 'VALIDATION_FAILED', send: () => call('GET', '/v1/tasks?limit=1001') },
    { name: 'limit=-1', status: 400, code: 'VALIDATION_FAILED', send: () => call('GET', '/v1/tasks?limit=-1') },
    { name: 'status=bogus', status: 400, code: 'VALIDATION_FAILED', send: () => call('GET', '/v1/tasks?status=bogus') },
    { name: 'lane=bogus', status: 400, code: 'VALIDATION_FAILED', send: () => call('GET', '/v1/tasks?lane=bogus') },
    { name: 'an empty repo filter', status: 400, code: 'VALIDATION_FAILED', send: () => call('GET', '/v1/tasks?repo=') },
    { name: 'status given twice', status: 400, code: 'VALIDATION_FAILED', send: () => call('GET', '/v1/tasks?status=queued&status=pending') },
    { name: 'events with limit=abc', status: 400, code: 'VALIDATION_FAILED', send: () => call('GET', '/v1/events?limit=abc') },
    { name: 'events with since=yesterday', status: 400, code: 'VALIDATION_FAILED', send: () => call('GET', '/v1/events?since=yesterday') },
    { name: 'an agent with a bad id', status: 400, code: 'VALIDATION_FAILED', send: () => call('POST', '/v1/agents', { id: '../etc' }) },
    { name: 'an agent with an unknown field', status: 400, code: 'VALIDATION_FAILED', send: () => call('POST', '/v1/agents', { id: 'w', admin: true }) },
    { name: 'an agent without a body', status: 400, code: 'VALIDATION_FAILED', send: () => call('POST', '/v1/agents') },
    { name: 'an unknown route', status: 404, code: 'NOT_FOUND', send: () => call('GET', '/v1/nope') },
    { name: 'an unknown route outside /v1', status: 404, code: 'NOT_FOUND', send: () => h.hub.app.inject({ method: 'GET', url: '/admin' }) },
    { name: 'a wrong method on a known path', status: 404, code: 'NOT_FOUND', send: () => call('DELETE', '/v1/tasks') },
  ];

  it.each(cases)('$name -> $status $code, nothing written', async ({ status, code, send }) => {
    await createTask({ title: 'already here' });
    const before = await snapshot();
    expectError(await send(), status, code);
    expect(await snapshot()).toEqual(before);
    // The hub still works after it.
    expect((await call('GET', '/v1/tasks')).statusCode).toBe(200);
  });

  it('names the offending field in validation messages', async () => {
    expect(expectError(await call('POST', '/v1/tasks', { title: 'x', priority: 1 }), 400, 'VALIDATION_FAILED').message).toMatch(/priority/);
    expect(expectError(await call('POST', '/v1/tasks', { title: 'x', lane: 'asap' }), 400, 'VALIDATION_FAILED').message).toMatch(/lane/);
    expect(expectError(await call('GET', '/v1/tasks?limit=abc'), 400, 'VALIDATION_FAILED').message).toMatch(/limit/);
    expect(expectError(await call('GET', '/v1/tasks?status=bogus'), 400, 'VALIDATION_FAILED').message).toMatch(/status/);
  });

  it('leaves the store consistent after all of them', async () => {
    for (const c of cases) await c.send();
    const report = await h.store.verifyIntegrity();
    expect(report).toEqual({ ok: true, tasks: 0, problems: [] });
    expect(h.store.healthy()).toBe(true);
  });
});

describe('/v1/agents', () => {
  it('registers an agent and shows its token exactly once', async () => {
    const res = await call('POST', '/v1/agents', { id: 'gpu-box-1', description: 'the big one' });
    expect(res.statusCode).toBe(201);
    const body = res.json() as { agent: Record<string, unknown>; token: string };
    expect(body.token).toMatch(/^sy_agent_[A-Za-z0-9_-]{40,}$/);
    expect(body.agent).toMatchObject({ id: 'gpu-box-1', description: 'the big one', state: 'offline', tasks: [], created_by: 'admin' });
    expect(body.agent).not.toHaveProperty('token_hash');
    expect(body.agent).not.toHaveProperty('token');

    const list = await call('GET', '/v1/agents');
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(body.token);
    expect(list.body).not.toContain('token');
    const agents = list.json().agents as Array<Record<string, unknown>>;
    expect(agents.map((a) => a.id)).toEqual(['gpu-box-1']);

    const one = await call('GET', '/v1/agents/gpu-box-1');
    expect(one.statusCode).toBe(200);
    expect(one.body).not.toContain('token');
    expect(one.json()).toMatchObject({ id: 'gpu-box-1', state: 'offline' });
  });

  it('refuses a duplicate id with 409 AGENT_EXISTS, keeping the first token', async () => {
    await h.addAgent('w1');
    const before = await snapshot();
    const res = await call('POST', '/v1/agents', { id: 'w1' });
    expectError(res, 409, 'AGENT_EXISTS');
    expect(await snapshot()).toEqual(before);
  });

  it('removes an agent: 204, then 404 AGENT_NOT_FOUND, and its token stops working', async () => {
    const token = await h.addAgent('w1');
    const del = await call('DELETE', '/v1/agents/w1');
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expectError(await call('DELETE', '/v1/agents/w1'), 404, 'AGENT_NOT_FOUND');
    expectError(await call('GET', '/v1/agents/w1'), 404, 'AGENT_NOT_FOUND');
    expect((await call('GET', '/v1/agents')).json().agents).toEqual([]);
    // Forgotten by the authenticator: now an unknown token (401), not an agent's (403).
    const res = await h.hub.app.inject({ method: 'GET', url: '/v1/tasks', headers: { authorization: `Bearer ${token}` } });
    expectError(res, 401, 'UNAUTHORIZED');
  });
});

describe('GET /v1/health', () => {
  it('reports the store and the queue depth by lane', async () => {
    await createTask({ title: 'u1', lane: 'urgent' });
    await createTask({ title: 'u2', lane: 'urgent' });
    await createTask({ title: 'l1', lane: 'low' });
    await createTask({ title: 'n1' });
    const res = await h.hub.app.inject({ method: 'GET', url: '/v1/health' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      status: 'ok',
      store: 'ok',
      agents: { connected: 0 },
      queue: { depth: { urgent: 2, high: 0, normal: 1, low: 1 }, leases: 0 },
    });
    expect(typeof body.uptime_s).toBe('number');
  });

  it('says degraded (503) once the store is closed', async () => {
    await h.store.close();
    const res = await h.hub.app.inject({ method: 'GET', url: '/v1/health' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ status: 'degraded', store: 'failed' });
  });
});

describe('logs', () => {
  it('never contain the admin token or an agent token', async () => {
    const logged = await startInprocHub({ captureLogs: 'trace' });
    try {
      const app = logged.hub.app;
      const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const created = await app.inject({ method: 'POST', url: '/v1/agents', headers: admin, payload: { id: 'w1' } });
      const agentToken = (created.json() as { token: string }).token;
      expect(agentToken.length).toBeGreaterThan(20);
      await app.inject({ method: 'GET', url: '/v1/tasks', headers: admin });
      await app.inject({ method: 'POST', url: '/v1/tasks', headers: admin, payload: { title: 'x' } });
      await app.inject({ method: 'GET', url: '/v1/tasks', headers: { authorization: `Bearer ${agentToken}` } });
      await app.inject({ method: 'GET', url: `/v1/tasks?token=${ADMIN_TOKEN}`, headers: admin });
      await app.inject({ method: 'GET', url: `/v1/feed?token=${ADMIN_TOKEN}` });
      await app.inject({ method: 'GET', url: `/v1/feed?token=${agentToken}` });
      await app.inject({ method: 'GET', url: `/v1/nope?token=${ADMIN_TOKEN}&access_token=${agentToken}` });
      // A real feed upgrade with the token in the query string (the browser's way).
      const feed = await app.injectWS(`/v1/feed?token=${ADMIN_TOKEN}`);
      feed.terminate();
      const logs = logged.logs();
      // The capture works and saw the requests, including their URLs.
      expect(logs).toContain('/v1/feed');
      expect(logs).toContain('incoming request');
      expect(logs).toContain('[Redacted]');
      expect(logs).not.toContain(ADMIN_TOKEN);
      expect(logs).not.toContain(agentToken);
      expect(logs).not.toContain(agentToken.slice('sy_agent_'.length));
    } finally {
      await logged.close();
    }
  });
});
