/**
 * GET /v1/openapi.json on a real listening hub: the document is valid OpenAPI 3.1 (checked by a
 * validator of the OpenAPI specification itself, @seriousme/openapi-schema-validator), lists every
 * route the hub serves and nothing else, agrees with README's REST table both ways, and the
 * answers of a real session — every route, its successes and its refusals (400, 401, 403, 404,
 * 409, 413, 503) — and the live feed's frames validate against the schemas it declares for them.
 * The schemas are closed for the check (an object schema that does not say otherwise refuses
 * fields it does not list), so an answer with an undocumented field fails here.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../shared/task.js';
import { ADMIN_TOKEN, RawClient, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';

type Json = Record<string, any>;
interface Operation {
  security?: unknown[];
  responses: Record<string, { content?: Record<string, { schema: Json }> }>;
}

const README = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

let h: InprocHub;
let spec: Json;
let ajv: Ajv;

/** `spec`'s operations as `METHOD /v1/path/:param`. */
function operations(): Map<string, Operation> {
  const out = new Map<string, Operation>();
  for (const [path, item] of Object.entries(spec.paths as Record<string, Json>)) {
    for (const method of METHODS) if (item[method]) out.set(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`, item[method]);
  }
  return out;
}

/** A copy of `schema` in which every object schema that does not say otherwise refuses unknown fields. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, closed(s)])) : closed(v);
  if (out.properties && out.additionalProperties === undefined && out.patternProperties === undefined) out.additionalProperties = false;
  return out;
}

/** References into the document, made absolute so that ajv finds them in the document registered as `spec`. */
function anchored(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(anchored);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `spec${v}` : anchored(v)]));
}

const compiled = new Map<string, ValidateFunction>();
function validatorFor(key: string, schema: Json): ValidateFunction {
  let fn = compiled.get(key);
  if (!fn) compiled.set(key, (fn = ajv.compile(anchored(closed(schema)) as Json)));
  return fn;
}

/** The operation a concrete request went to. */
function operationOf(method: string, url: string): [string, Operation] {
  const path = url.split('?')[0]!;
  for (const [key, op] of operations()) {
    const [m, template] = key.split(' ') as [string, string];
    if (m === method && new RegExp(`^${template.replace(/:\w+/g, '[^/]+')}$`).test(path)) return [key, op];
  }
  throw new Error(`no operation in the spec for ${method} ${path}`);
}

const seen = new Set<string>();
/** Checks an answer against the schema its operation declares for its status (exact, or `4XX`). */
function expectDocumented(method: string, url: string, status: number, body: string): void {
  const [key, op] = operationOf(method, url);
  const declared = op.responses[String(status)] ?? op.responses[`${Math.floor(status / 100)}XX`];
  expect(declared, `${key} declares no answer ${status}`).toBeDefined();
  seen.add(`${key} ${status}`);
  const schema = declared!.content?.['application/json']?.schema;
  if (!schema) {
    expect(body, `${key} ${status} has no content`).toBe('');
    return;
  }
  const validate = validatorFor(`${key} ${status}`, schema);
  const value = JSON.parse(body) as unknown;
  expect(validate(value), `${key} ${status}: ${ajv.errorsText(validate.errors)}\n${body.slice(0, 2000)}`).toBe(true);
}

/** One request of the session, checked against the spec; returns the answer. */
async function call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = h.auth()): Promise<{ status: number; body: any }> {
  const res = await h.hub.app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as Json } : {}) });
  expectDocumented(method, url, res.statusCode, res.body);
  return { status: res.statusCode, body: res.body ? (res.json() as unknown) : undefined };
}

beforeAll(async () => {
  h = await startInprocHub({ listen: true, config: { bodyLimitBytes: 65_536, heartbeatMs: 200 } });
  const res = await h.hub.app.inject({ method: 'GET', url: '/v1/openapi.json' });
  expect(res.statusCode).toBe(200);
  spec = res.json() as Json;
  ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'spec', components: closed(spec.components) as Json });
});

afterAll(async () => {
  await h.close();
});

describe('the document', () => {
  it('is public, and valid OpenAPI 3.1', async () => {
    expect(spec.openapi).toBe('3.1.0');
    const result = await new Validator().validate(spec as never);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    // The answer of /v1/openapi.json is documented too.
    expectDocumented('GET', '/v1/openapi.json', 200, JSON.stringify(spec));
  });

  it('lists every route the hub serves, and no other', () => {
    const served = h.hub.routes.map((r) => `${r.method} ${r.url}`).sort();
    expect(served.length).toBeGreaterThan(10);
    expect([...operations().keys()].sort()).toEqual(served);
  });

  it("agrees with README's REST table, both ways", () => {
    const start = README.indexOf('## REST API');
    const table = README.slice(start, README.indexOf('\n## ', start + 1));
    const listed = new Set<string>();
    for (const line of table.split('\n').filter((l) => l.startsWith('| `'))) {
      const first = line.split('|')[1]!;
      for (const m of first.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/[^`\s]*)`/g)) listed.add(`${m[1]} ${m[2]}`);
    }
    const documented = new Set(operations().keys());
    expect([...documented].filter((op) => !listed.has(op)), 'in the spec, missing from README').toEqual([]);
    expect([...listed].filter((op) => !documented.has(op)), 'in README, missing from the spec').toEqual([]);
  });

  it('asks for the admin token on every route but the public ones', () => {
    expect(spec.security).toEqual([{ admin: [] }]);
    const open = [...operations()].filter(([, op]) => Array.isArray(op.security) && op.security.length === 0).map(([k]) => k);
    expect(open.sort()).toEqual(['GET /v1/agent', 'GET /v1/health', 'GET /v1/openapi.json']);
    // The join and self routes take no admin token: they authenticate with their own kind of token.
    const byOther = [...operations()]
      .map(([k, op]) => [k, (op.security ?? []) as Array<Record<string, unknown>>] as const)
      .filter(([, sec]) => sec.length === 1 && !('admin' in sec[0]!))
      .map(([k, sec]) => `${k} ${Object.keys(sec[0]!)[0]}`);
    expect(byOther.sort()).toEqual([
      'DELETE /v1/self agent',
      'GET /v1/agent/repos agent',
      'GET /v1/self agent',
      'GET /v1/self/tasks/:id agent',
      'POST /v1/chatops/slack slack',
      'POST /v1/join join',
      'POST /v1/join/check join',
      'POST /v1/self/smoke agent',
      'POST /v1/self/tasks/:id/cancel agent',
    ]);
  });

  it('names the shared schemas as components', () => {
    for (const name of ['Task', 'TaskSpec', 'TaskEvent', 'Error', 'Agent', 'AgentView', 'FeedMessage', 'QueueStats']) {
      expect(spec.components.schemas[name], name).toBeDefined();
    }
    expect(spec.components.schemas.Error.properties.code.enum).toContain('LEASE_EXPIRED');
  });
});

describe('the answers of a real session', () => {
  it('validate against their declared schemas, and so do the feed frames', async () => {
    const feed = new RawClient(`${h.wsUrl}/v1/feed?token=${ADMIN_TOKEN}`);
    await feed.opened;
    await feed.nextOf('hello');

    // Create, alone and in a batch, again by idempotency key.
    const first = await call('POST', '/v1/tasks', { title: 'build', lane: 'high', executor: 'shell', command: 'make' }, h.auth({ 'idempotency-key': 'k-1' }));
    expect(first.status).toBe(201);
    expect((await call('POST', '/v1/tasks', { title: 'build', executor: 'shell', command: 'make' }, h.auth({ 'idempotency-key': 'k-1' }))).status).toBe(200);
    const batch = {
      tasks: [
        { ref: 'a', title: 'a', idempotency_key: 'b-a', metadata: { team: 'infra', n: 1 }, env: { MODE: 'ci' } },
        { ref: 'b', title: 'b', depends_on: ['a'], idempotency_key: 'b-b', verification: [{ type: 'file_exists', path: 'x' }, { type: 'git_clean' }] },
      ],
    };
    const created = await call('POST', '/v1/tasks/batch', batch);
    expect(created.status).toBe(201);
    expect((await call('POST', '/v1/tasks/batch', batch)).status).toBe(200);
    const [a, b] = created.body.tasks as [Task, Task];

    // List, page, show (with dependants; with a waiting reason).
    const page = await call('GET', '/v1/tasks?limit=1&status=queued');
    expect(page.body.next).not.toBeNull();
    await call('GET', `/v1/tasks?after=${page.body.next}&lane=high`);
    expect((await call('GET', `/v1/tasks/${a.id}`)).body.waiting).toBe('no agent is connected');
    await call('GET', `/v1/tasks/${b.id}`);

    // A sidecar: it takes a task, reports progress and completes it.
    const token = (await call('POST', '/v1/agents', { id: 'w1', description: 'the test host' })).body.token as string;
    await call('GET', '/v1/agents/w1');
    const sidecar = await RawClient.connect(h.wsUrl, 'w1', token, { capabilities: ['gpu'] });
    const assign = await sidecar.nextOf('task.assign');
    const leased = assign.task as Task;
    sidecar.send({ type: 'task.accept', id: 'acc', task_id: leased.id, generation: assign.generation as number });
    await sidecar.next((m) => m.id === 'acc');
    sidecar.send({ type: 'task.progress', task_id: leased.id, generation: assign.generation, seq: 1, data: [{ stream: 'stdout', data: 'working\n' }] });
    await waitFor(() => feed.received.some((m) => m.type === 'task.progress'), 'progress on the feed');
    const running = await call('GET', `/v1/tasks/${leased.id}`);
    expect(running.body.progress_tail).toBe('working\n');
    await call('GET', '/v1/agents');
    expect((await call('GET', '/v1/agents/w1')).body.state).toBe('working');
    expect((await call('POST', '/v1/agents/w1/recheck')).status).toBe(202);
    expect((await call('PATCH', '/v1/agents/w1', { priority: 3 })).status).toBe(200);
    sidecar.send({ type: 'task.complete', id: 'done', task_id: leased.id, generation: assign.generation, result: { exit_code: 0 } });
    await sidecar.next((m) => m.id === 'done');
    await sidecar.close();
    // Its only executor is gone from the fleet: an alert.
    await waitFor(() => feed.received.some((m) => m.type === 'alert'), 'the EXECUTOR_GONE alert');

    // Cancel, twice (409); retry a dead-lettered task; review: approve and reject.
    expect((await call('POST', `/v1/tasks/${b.id}/cancel`, { reason: 'not needed' })).body.status).toBe('cancelled');
    expect((await call('POST', `/v1/tasks/${b.id}/cancel`)).status).toBe(409);
    const fragile = (await call('POST', '/v1/tasks', { title: 'fragile', command: 'false', max_attempts: 1, capabilities: ['none-has-it'] })).body as Task;
    const lease = (await h.store.leaseTask(fragile.id, { agentId: 'x', capabilities: ['none-has-it'], repos: null }))!;
    await h.store.accept(fragile.id, lease.generation, 'x');
    await h.store.fail(fragile.id, lease.generation, 'x', { code: 'EXEC_EXIT_NONZERO', message: 'exit 1', retryable: true, details: { exit_code: 1 } });
    expect((await call('POST', `/v1/tasks/${fragile.id}/retry`)).body.last_error.code).toBe('EXEC_EXIT_NONZERO');
    for (const decide of ['approve', 'reject'] as const) {
      const t = (await call('POST', '/v1/tasks', { title: `review ${decide}`, command: 'true', review: true, capabilities: ['none-has-it'] })).body as Task;
      const l = (await h.store.leaseTask(t.id, { agentId: 'x', capabilities: ['none-has-it'], repos: null }))!;
      await h.store.accept(t.id, l.generation, 'x');
      await h.store.complete(t.id, l.generation, 'x', { summary: 'done' });
      expect((await call('POST', `/v1/tasks/${t.id}/${decide}`, decide === 'reject' ? { reason: 'not like this' } : undefined)).status).toBe(200);
    }

    // The review workflow: an agent asks on its own lease (its token), the operator answers or
    // force-unblocks; it submits with evidence; changes requested; the gate overridden; escalations.
    const agentAuth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const wt = (await call('POST', '/v1/tasks', { title: 'ask me', command: 'true', review: true, capabilities: ['none-has-it'] })).body as Task;
    const runOnW1 = async () => {
      const l = (await h.store.leaseTask(wt.id, { agentId: 'w1', capabilities: ['none-has-it'], repos: null }))!;
      await h.store.accept(wt.id, l.generation, 'w1');
      return l.generation;
    };
    let gen = await runOnW1();
    expect((await call('POST', `/v1/tasks/${wt.id}/ask`, { generation: gen, text: 'which file?' }, agentAuth)).body.status).toBe('blocked');
    expect((await call('POST', `/v1/tasks/${wt.id}/answer`, { answer: 'src/a.ts' })).body.status).toBe('queued');
    gen = await runOnW1();
    await call('POST', `/v1/tasks/${wt.id}/ask`, { generation: gen, text: 'still?', options: ['yes', 'no'] }, agentAuth);
    expect((await call('POST', `/v1/tasks/${wt.id}/force-unblock`, { note: 'go on' })).body.status).toBe('queued');
    gen = await runOnW1();
    const evidence = { test_command: 'npm test', test_result: 'passed', commit: 'abc1234', files_changed: ['src/a.ts'] };
    expect((await call('POST', `/v1/tasks/${wt.id}/submit`, { generation: gen, evidence }, agentAuth)).body.status).toBe('review');
    expect((await call('POST', `/v1/tasks/${wt.id}/request-changes`, { feedback: 'add a test', findings: [{ message: 'no test', file: 'src/a.ts', line: 1 }] })).body.status).toBe('queued');
    expect((await call('POST', `/v1/tasks/${wt.id}/supervision`, { mode: 'plan', reason: 'bigger than it looked' })).body.supervision.mode).toBe('plan');
    expect((await call('POST', `/v1/tasks/${wt.id}/answer`, { answer: 'not blocked' })).status).toBe(409);
    gen = await runOnW1();
    await h.store.complete(wt.id, gen, 'w1', { plan: { steps: ['one'], files: ['src/a.ts'], risks: [] } });
    await waitFor(async () => ((await call('GET', '/v1/escalations')).body.escalations as unknown[]).length > 0, 'the plan_approval escalation');
    const esc = ((await call('GET', `/v1/escalations?kind=plan_approval&task=${wt.id}`)).body.escalations as Array<{ id: string }>)[0]!;
    await call('GET', `/v1/escalations/${esc.id}`);
    expect((await call('POST', `/v1/escalations/${esc.id}/resolve`, { resolution: 'looked at it' })).body.escalation.status).toBe('resolved');
    expect((await call('GET', '/v1/escalations/NOSUCH')).status).toBe(404);
    // Project history and MCP (docs/context.md, docs/mcp.md).
    expect((await call('GET', '/v1/repos/calc/history?scope=all&q=fix&limit=5')).body.entries).toEqual([]);
    expect((await call('GET', '/v1/mcp')).status).toBe(405);
    const mcpHeaders = h.auth({ accept: 'application/json, text/event-stream', 'content-type': 'application/json' });
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'openapi-test', version: '1' } } };
    expect((await call('POST', '/v1/mcp', init, mcpHeaders)).body.result.serverInfo.name).toBe('switchyard');
    expect((await call('DELETE', '/v1/mcp', undefined, h.auth({ 'mcp-session-id': 'no-such-session' }))).body.code).toBe('MCP_SESSION_NOT_FOUND');

    // The log.
    await call('GET', '/v1/events?limit=5');
    await call('GET', `/v1/events?task=${a.id}&since=0`);

    // Refusals, each with its status and the Error schema.
    expect((await call('POST', '/v1/tasks', { title: 'x', priority: 1 })).status).toBe(400);
    expect((await call('GET', '/v1/tasks?limit=0')).status).toBe(400);
    expect((await call('POST', '/v1/tasks', { title: 'x', description: 'y'.repeat(70_000) })).status).toBe(413);
    expect((await call('GET', '/v1/tasks', undefined, {})).status).toBe(401);
    expect((await call('GET', '/v1/agents', undefined, { authorization: `Bearer ${token}` })).status).toBe(403);
    expect((await call('GET', '/v1/tasks/01NOSUCHTASK')).status).toBe(404);
    expect((await call('POST', '/v1/agents', { id: 'w1' })).status).toBe(409);
    expect((await call('POST', '/v1/agents/w1/recheck')).status).toBe(409);
    expect((await call('POST', '/v1/tasks/batch', { tasks: [{ ref: 'c', title: 'c', depends_on: ['c'] }] })).status).toBe(400);
    expect((await call('DELETE', '/v1/agents/w1')).status).toBe(204);
    expect((await call('GET', '/v1/agents/w1')).status).toBe(404);

    // Joining: invite, check, join (and repeat), the agent's own routes, revoke.
    const invite = (await call('POST', '/v1/join-tokens', { name: 'joiner', ttl_ms: 60_000 })).body as { join: { id: string }; token: string };
    await call('GET', '/v1/join-tokens');
    const join = { authorization: `Bearer ${invite.token}`, 'content-type': 'application/json' };
    const key = 'k'.repeat(40);
    await call('POST', '/v1/join/check', { names: ['joiner'], exchange_key: key }, join);
    expect((await call('POST', '/v1/join', { name: 'joiner', exchange_key: key }, join)).status).toBe(201);
    const again = (await call('POST', '/v1/join', { name: 'joiner', exchange_key: key }, join)).body as { token: string };
    const self = { authorization: `Bearer ${again.token}` };
    await call('GET', '/v1/self', undefined, self);
    const smoke = (await call('POST', '/v1/self/smoke', undefined, self)).body as { id: string };
    await call('GET', `/v1/self/tasks/${smoke.id}`, undefined, self);
    await call('POST', `/v1/self/tasks/${smoke.id}/cancel`, undefined, self);
    expect((await call('DELETE', '/v1/self', undefined, self)).status).toBe(204);
    const spare = (await call('POST', '/v1/join-tokens', {})).body as { join: { id: string } };
    await call('DELETE', `/v1/join-tokens/${spare.join.id}`);

    // API tokens: add a viewer, list, the viewer reads but may not write (403 naming the roles), revoke.
    const viewer = (await call('POST', '/v1/tokens', { name: 'wall-screen', kind: 'viewer' })).body as { token: string; record: { id: string } };
    await call('GET', '/v1/tokens');
    expect((await call('GET', '/v1/tasks?limit=1', undefined, { authorization: `Bearer ${viewer.token}` })).status).toBe(200);
    expect((await call('POST', '/v1/tasks', { title: 'not yours' }, { authorization: `Bearer ${viewer.token}`, 'content-type': 'application/json' })).body).toMatchObject({ code: 'FORBIDDEN', details: { action: 'tasks.write', roles: ['admin', 'operator'] } });
    expect((await call('DELETE', `/v1/tokens/${viewer.record.id}`)).status).toBe(200);
    expect((await call('DELETE', '/v1/tokens/0123456789abcdef')).status).toBe(404);
    expect((await call('GET', '/v1/tasks?limit=1', undefined, { authorization: `Bearer ${viewer.token}` })).status).toBe(401);

    // The audit log: what this session changed.
    expect((await call('GET', '/v1/audit?action=token.')).body.entries.length).toBeGreaterThan(0);

    // Backups: take one (answered once verified), list them.
    expect((await call('POST', '/v1/backups')).status).toBe(201);
    expect((await call('GET', '/v1/backups')).body.backups).toHaveLength(1);
    // Degraded mode held for an operator: health says why, writes refused (503), the ack ends it.
    h.hub.services.health.degrade({ reason: 'restore_lost_data', message: 'test hold', needsAck: true });
    expect((await call('GET', '/v1/health', undefined, {})).body.degraded.needs_ack).toBe(true);
    expect((await call('POST', '/v1/tasks', { title: 'held' })).body.code).toBe('STORE_DEGRADED');
    expect((await call('POST', '/v1/health/ack')).body.acknowledged).toBe(true);
    // Metrics: Prometheus text (documented as text/plain), and the history as JSON.
    const prom = await h.hub.app.inject({ method: 'GET', url: '/v1/metrics', headers: h.auth() });
    expect(prom.statusCode).toBe(200);
    expect(prom.headers['content-type']).toMatch(/^text\/plain/);
    expect(operationOf('GET', '/v1/metrics')[1].responses['200']!.content?.['text/plain']).toBeDefined();
    expect(prom.body).toMatch(/^switchyard_tasks_created_total\{lane="high"\} [1-9]/m);
    seen.add('GET /v1/metrics 200');
    await call('GET', '/v1/metrics/history');
    expect((await call('GET', '/v1/metrics', undefined, {})).status).toBe(401);
    // Push: the key, a subscription (never sent to: the test runs while none exists), the list, removal.
    await call('GET', '/v1/push/key');
    expect((await call('POST', '/v1/push/test')).body).toEqual({ sent: 0, failed: 0, pruned: 0 });
    const browser = { endpoint: 'https://push.example.invalid/send/abc', keys: { p256dh: `BA${'A'.repeat(85)}`, auth: 'A'.repeat(22) } };
    const pushed = (await call('POST', '/v1/push/subscriptions', { subscription: browser, kinds: ['critical'], label: 'phone' })).body as { id: string };
    expect((await call('POST', '/v1/push/subscriptions', { subscription: browser, kinds: [] })).status).toBe(200);
    await call('GET', '/v1/push/subscriptions');
    expect((await call('DELETE', `/v1/push/subscriptions/${pushed.id}`)).status).toBe(200);
    expect((await call('DELETE', `/v1/push/subscriptions/${pushed.id}`)).status).toBe(404);

    // The repo registry: add (again: 409), list, show, change, pause, resume, move, the agent's view, remove (again: 404).
    expect((await call('POST', '/v1/repos', { name: 'web', url: 'https://example.com/web.git', priority: 5 })).status).toBe(201);
    expect((await call('POST', '/v1/repos', { name: 'web', url: 'x' })).body.code).toBe('REPO_EXISTS');
    await call('GET', '/v1/repos');
    await call('GET', '/v1/repos/web');
    await call('PATCH', '/v1/repos/web', { test_command: 'npm test' });
    expect((await call('POST', '/v1/repos/web/pause', { reason: 'freeze' })).body.status).toBe('paused');
    await call('POST', '/v1/repos/web/resume');
    await call('POST', '/v1/repos/web/move', { priority: 9 });
    const box = (await call('POST', '/v1/agents', { id: 'w-repos' })).body.token as string;
    expect((await call('GET', '/v1/agent/repos', undefined, { authorization: `Bearer ${box}` })).body.repos).toHaveLength(1);
    expect((await call('DELETE', '/v1/repos/web')).status).toBe(204);
    expect((await call('DELETE', '/v1/repos/web')).body.code).toBe('REPO_NOT_FOUND');

    // Health, then the store gone: degraded (503), writes refused with STORE_CLOSED (503).
    expect((await call('GET', '/v1/health', undefined, {})).status).toBe(200);
    await h.store.close();
    expect((await call('GET', '/v1/health', undefined, {})).body.status).toBe('degraded');
    expect((await call('POST', '/v1/tasks', { title: 'too late' })).status).toBe(503);
    await waitFor(() => feed.received.some((m) => m.type === 'store.health'), 'the store.health frame');

    // The store's failure is an alert (store_degraded, critical) on the feed; acknowledge it.
    await h.hub.services.alerts.check();
    const degraded = ((await call('GET', '/v1/alerts')).body.alerts as Array<{ id: string; rule: string }>).find((x) => x.rule === 'store_degraded')!;
    expect((await call('POST', `/v1/alerts/${encodeURIComponent(degraded.id)}/ack`)).body.alert.state).toBe('acknowledged');
    await call('GET', '/v1/alerts?state=all&limit=10');
    expect((await call('POST', '/v1/alerts/no_such:fleet:1/ack')).status).toBe(404);
    expect((await call('GET', '/v1/alerts?state=bogus')).status).toBe(400);
    await waitFor(() => feed.received.some((m) => m.type === 'alert.changed'), 'the alert.changed frame');

    // Every feed frame is a documented FeedMessage, and each kind was seen.
    const frame = validatorFor('FeedMessage', { $ref: '#/components/schemas/FeedMessage' });
    for (const m of feed.received) expect(frame(m), `${String(m.type)}: ${ajv.errorsText(frame.errors)}`).toBe(true);
    expect(new Set(feed.received.map((m) => m.type))).toEqual(new Set(['hello', 'task.changed', 'agent.changed', 'task.progress', 'alert', 'alert.changed', 'store.health']));
    await feed.close();

    // ChatOps: not configured on this hub.
    expect((await call('POST', '/v1/chatops/slack', undefined, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(404);

    // Rate limits: the view, an override set and cleared.
    expect((await call('GET', '/v1/limits')).body.enabled).toBe(true);
    expect((await call('PUT', '/v1/limits/overrides/agent:w9', { factor: 2, note: 'big box' })).body).toMatchObject({ subject: 'agent:w9', factor: 2 });
    expect((await call('DELETE', '/v1/limits/overrides/agent:w9')).body).toEqual({ subject: 'agent:w9', cleared: true });
    expect((await call('PUT', '/v1/limits/overrides/nobody', { exempt: true })).status).toBe(400);
    const policy = (await call('GET', '/v1/routing/policy')).body;
    expect(policy.source).toBe('default');
    const set = (await call('PUT', '/v1/routing/policy', { ...policy.policy, enabled: false })).body;
    expect(set).toMatchObject({ source: 'api', policy: { enabled: false } });
    expect((await call('PUT', '/v1/routing/policy', { tiers: {} })).status).toBe(400);
    expect((await call('DELETE', '/v1/routing/policy')).body).toMatchObject({ source: 'default', policy: { enabled: true } });

    // Usage and budgets (docs/usage.md).
    expect((await call('GET', '/v1/usage?by=repo,day')).body).toMatchObject({ by: ['day', 'repo'], rows: expect.any(Array) });
    expect((await call('PUT', '/v1/budgets/web', { cost_usd_per_day: 5, on_limit: 'local' })).body).toMatchObject({ repo: 'web', on_limit: 'local', blocked: false });
    expect((await call('PUT', '/v1/budgets/web', {})).body).toMatchObject({ code: 'BUDGET_INVALID' });
    expect((await call('GET', '/v1/budgets')).body.budgets).toHaveLength(1);
    expect((await call('DELETE', '/v1/budgets/web')).body).toEqual({ repo: 'web', removed: true });
    expect((await call('DELETE', '/v1/budgets/web')).body).toMatchObject({ code: 'BUDGET_NOT_FOUND' });

    // Last, as it ends the admin token this session uses: rotate it.
    const rotated = (await call('POST', '/v1/tokens/rotate-admin')).body as { token: string };
    expect((await call('GET', '/v1/tokens')).status).toBe(401);
    expect((await call('GET', '/v1/tokens', undefined, { authorization: `Bearer ${rotated.token}` })).status).toBe(200);

    // Every REST operation was exercised (the sockets' 101 answers are checked by the protocol and feed tests).
    const exercised = new Set([...seen].map((s) => s.split(' ').slice(0, 2).join(' ')));
    const rest = [...operations().keys()].filter((k) => k !== 'GET /v1/agent' && k !== 'GET /v1/feed');
    expect(rest.filter((k) => !exercised.has(k))).toEqual([]);
  }, 60_000);
});
