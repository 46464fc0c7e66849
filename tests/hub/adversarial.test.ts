/**
 * Regressions of the adversarial test of the hub (issue 7), each reproduced first against the
 * real hub: a removed agent's afterlife, a far run_at after a restart, colliding idempotency keys
 * (lone surrogates), fan-in that rewrote a growing list, a task.fail frame that stalled the event
 * loop, task bodies that reached a 500, and a token in an encoded query that reached the log.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { openLevelKv } from '../../hub/store/level-kv.js';
import { K, pad } from '../../hub/store/keys.js';
import type { KvTaskStore } from '../../hub/store/kv-task-store.js';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import { redactUrl } from '../../shared/logger.js';
import { LIMITS, type Task } from '../../shared/task.js';
import { RawClient, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';
import { tempDir } from '../support/processes.js';
import { closeAfterEach } from '../support/cleanup.js';

/** Registers something to close after the test (clients first, then hubs: reverse order). */
const track = closeAfterEach();

async function hub(listen = true, captureLogs?: string): Promise<InprocHub> {
  return track(await startInprocHub({ listen, ...(captureLogs ? { captureLogs } : {}) }));
}

/** POSTs raw JSON text (so a test can send escapes that JSON.stringify would never produce). */
async function postRaw(h: InprocHub, url: string, text: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await h.hub.app.inject({ method: 'POST', url, headers: h.auth({ 'content-type': 'application/json' }), payload: text });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

async function post(h: InprocHub, url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return postRaw(h, url, JSON.stringify(body));
}

async function taskCount(h: InprocHub): Promise<number> {
  return (await h.store.list({ limit: 1000 })).items.length;
}

describe('a removed agent does nothing more (item 2)', () => {
  it('after DELETE, a client that ignores the close frame cannot renew, report or complete, and its lease is released at once', async () => {
    const h = await hub();
    const token = await h.addAgent('R');
    const client = track(await RawClient.connect(h.wsUrl, 'R', token));
    const created = await post(h, '/v1/tasks', { title: 'job', command: 'sleep 1', executor: 'shell' });
    const assign = await client.nextOf('task.assign');
    const task = assign.task as unknown as Task;
    const generation = assign.generation as number;
    client.send({ type: 'task.accept', id: 'a1', task_id: task.id, generation });
    await client.next((m) => m.type === 'ack' && m.id === 'a1');
    expect((await h.store.get(task.id))!.status).toBe('running');
    expect(created.status).toBe(201);

    // The client stops reading: it never sees the close frame, as a client that ignores it.
    const raw = (client.ws as unknown as { _socket: Socket })._socket;
    raw.pause();
    const del = await h.hub.app.inject({ method: 'DELETE', url: '/v1/agents/R', headers: h.auth() });
    expect(del.statusCode).toBe(204);

    // Its lease went back at once, not when it would have run out.
    const after = (await h.store.get(task.id))!;
    expect(after.status).toBe('queued');
    expect(after.lease).toBeNull();

    // Everything it sends now is ignored: no renewal, no progress, no completion.
    client.send({ type: 'heartbeat', resources: { cpu_count: 1, load_1m: 0, ram_total_mb: 1, ram_free_mb: 1, gpus: [] }, tasks: [{ task_id: task.id, generation }] });
    client.send({ type: 'task.progress', task_id: task.id, generation, seq: 1, data: [{ stream: 'stdout', data: 'still here\n' }] });
    client.send({ type: 'task.complete', id: 'c1', task_id: task.id, generation, result: { forged: true } });
    await new Promise((r) => setTimeout(r, 300));
    const later = (await h.store.get(task.id))!;
    expect(later.status).toBe('queued');
    expect(later.result).toBeNull();
    expect(h.hub.registry.get('R')?.conn ?? null).toBeNull();
    // The socket itself is cut soon after, whatever the client does.
    raw.resume();
    const closed = await client.closed;
    expect([4010, 1006]).toContain(closed.code);
  });
});

describe('run_at and time keys (item 3)', () => {
  it('refuses a run_at in microseconds with a clear VALIDATION_FAILED, writing nothing', async () => {
    const h = await hub(false);
    for (const run_at of [Date.now() * 1000, Date.now() + LIMITS.runAtHorizonMs + 60_000]) {
      const res = await post(h, '/v1/tasks', { title: 'far', run_at });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(String(res.body.message)).toMatch(/run_at/);
    }
    const batch = await post(h, '/v1/tasks/batch', { tasks: [{ title: 'ok' }, { title: 'far', run_at: Date.now() * 1000 }] });
    expect(batch.status).toBe(400);
    expect(await taskCount(h)).toBe(0);
    // Nine years ahead is a plan, not a mistake.
    expect((await post(h, '/v1/tasks', { title: 'later', run_at: Date.now() + 9 * 365 * 86_400_000 })).status).toBe(201);
  });

  it('time keys are fixed width: pad refuses a time that 13 digits cannot hold', () => {
    expect(pad(0)).toBe('0000000000000');
    expect(pad(LIMITS.maxTimeMs)).toBe('9999999999999');
    expect(() => pad(LIMITS.maxTimeMs + 1)).toThrow(/beyond the latest time/);
    expect(() => pad(Number.NaN)).toThrow();
  });

  it('a store holding an out-of-order due key from before the fix still queues a task that comes due', async () => {
    const dir = join(tempDir('far-run-at'), 'tasks');
    let store: KvTaskStore = await openTaskStore(dir);
    const far = (await store.create({ title: 'far', run_at: Date.now() + 9 * 365 * 86_400_000 }, 'test')).task;
    const soon = (await store.create({ title: 'soon', run_at: Date.now() + 400 }, 'test')).task;
    await store.close();
    // Rewrite `far` as the old code stored Date.now()*1000: a 16-digit key that sorts first.
    const kv = await openLevelKv(dir);
    const record = JSON.parse((await kv.get(K.task(far.id)))!) as Task;
    const micros = Date.now() * 1000;
    await kv.write(
      [
        { type: 'del', key: K.due(far.next_run_at!, far.id) },
        { type: 'put', key: `d!${micros}!${far.id}`, value: '' },
        { type: 'put', key: K.task(far.id), value: JSON.stringify({ ...record, run_at: micros, next_run_at: micros }) },
      ],
      true,
    );
    await kv.close();
    store = await openTaskStore(dir);
    track(store);
    await waitFor(async () => (await store.get(soon.id))?.status === 'queued', 'the task due in 400 ms to be queued', 5000);
    expect((await store.get(far.id))!.status).toBe('pending');
  });
});

describe('idempotency keys map one-to-one to bytes (item 4)', () => {
  it('refuses lone surrogates in keys and every other string, on REST and on the socket', async () => {
    const h = await hub();
    const first = await postRaw(h, '/v1/tasks', '{"title":"a","idempotency_key":"k\\ud800"}');
    expect(first.status).toBe(400);
    expect(first.body.code).toBe('VALIDATION_FAILED');
    expect(String(first.body.message)).toMatch(/idempotency_key.*not valid Unicode/);
    expect((await postRaw(h, '/v1/tasks', '{"title":"b\\udbff"}')).status).toBe(400);
    expect((await postRaw(h, '/v1/tasks/batch', '{"tasks":[{"title":"a","idempotency_key":"k\\ud800"},{"title":"b","idempotency_key":"k\\udbff"}]}')).status).toBe(400);
    // A surrogate pair is well-formed and accepted.
    expect((await postRaw(h, '/v1/tasks', '{"title":"ok \\ud83d\\ude00","idempotency_key":"k\\ud83d\\ude00"}')).status).toBe(201);
    expect(await taskCount(h)).toBe(1);
    expect((await h.store.verifyIntegrity()).ok).toBe(true);
    // In-process callers too: the store refuses what would collide in its keys.
    await expect(h.store.create({ title: 'x', idempotency_key: 'k\ud800' }, 'test')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });

    const token = await h.addAgent('u1');
    const client = track(await RawClient.connect(h.wsUrl, 'u1', token));
    client.send('{"type":"task.reject","id":"r1","task_id":"01ABC","generation":1,"code":"X","reason":"bad \\udc00"}');
    const err = await client.nextOf('error');
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED', id: 'r1' });
  });
});

describe('fan-in costs O(1) per dependant (item 5)', () => {
  it('10 batches of 1,000 dependants of one task: its record stays the same size, the limit is enforced, completion releases them all', async () => {
    const h = await hub(false);
    const parent = (await post(h, '/v1/tasks', { title: 'parent', executor: 'shell', command: 'true', capabilities: ['never'] })).body as unknown as Task;
    const kvRecordBytes = async () => Buffer.byteLength(JSON.stringify(await h.store.get(parent.id)));
    let sizeAfterFirst = 0;
    for (let b = 0; b < 10; b++) {
      const res = await post(h, '/v1/tasks/batch', { tasks: Array.from({ length: 1000 }, (_, i) => ({ title: `child ${b}-${i}`, depends_on: [parent.id] })) });
      expect(res.status).toBe(201);
      const stored = (await h.store.list({ status: 'pending', limit: 1 })).items[0]!;
      expect(stored.dependants).toBeUndefined(); // lists carry the count only
      const rec = await h.store.list({ limit: 1 });
      if (b === 0) sizeAfterFirst = Buffer.byteLength(JSON.stringify({ ...rec.items[0], dependants: undefined }));
    }
    // The parent's stored record did not grow with its dependants (only the count's digits changed).
    const lastSize = Buffer.byteLength(JSON.stringify({ ...(await h.store.list({ limit: 1 })).items[0], dependants: undefined }));
    expect(lastSize - sizeAfterFirst).toBeLessThanOrEqual(2);
    const full = (await h.store.get(parent.id))!;
    expect(full.dependant_count).toBe(LIMITS.dependants);
    expect(full.dependants).toHaveLength(LIMITS.dependants);
    expect(await kvRecordBytes()).toBeGreaterThan(LIMITS.dependants * 26); // the whole list, read from its keys

    const over = await post(h, '/v1/tasks', { title: 'one too many', depends_on: [parent.id] });
    expect(over.status).toBe(409);
    expect(over.body.code).toBe('LIMIT_EXCEEDED');
    expect(String(over.body.message)).toMatch(/10000/);
    expect((await h.store.get(parent.id))!.dependant_count).toBe(LIMITS.dependants);

    const lease = await h.store.leaseNext({ agentId: 'a1', capabilities: ['never', 'executor:shell'] });
    await h.store.accept(lease!.id, lease!.generation, 'a1');
    await h.store.complete(lease!.id, lease!.generation, 'a1', null);
    expect((await h.store.stats()).byStatus.queued).toBe(LIMITS.dependants);
    expect((await h.store.verifyIntegrity()).problems).toEqual([]);
  }, 60_000);

  it('a dependant created in the same group as its dependency completes is released (edges not yet on disk are seen)', async () => {
    const dir = join(tempDir('fanin-race'), 'tasks');
    const store = track(await openTaskStore(dir, { autoSweep: false }));
    const parent = (await store.create({ title: 'p' }, 'test')).task;
    const lease = (await store.leaseNext({ agentId: 'a', capabilities: [] }))!;
    await store.accept(lease.id, lease.generation, 'a');
    // Both in one group: the create's edge key is not on disk when the completion reads edges.
    const [child] = await Promise.all([store.create({ title: 'c', depends_on: [parent.id] }, 'test'), store.complete(parent.id, lease.generation, 'a', null)]);
    expect((await store.get(child.task.id))!.status).toBe('queued');
    expect((await store.verifyIntegrity()).problems).toEqual([]);
  });

  it('migrates a format-2 store (dependants listed in records) to edges and counts', async () => {
    const dir = join(tempDir('migrate'), 'tasks');
    let store: KvTaskStore = await openTaskStore(dir, { autoSweep: false });
    const parent = (await store.create({ title: 'p' }, 'test')).task;
    const kids = await store.createMany([{ title: 'c1', depends_on: [parent.id] }, { title: 'c2', depends_on: [parent.id] }], 'test');
    await store.close();
    // Turn it back into format 2: the list in the record, no edge keys, no count.
    const kv = await openLevelKv(dir);
    const ops: Array<{ type: 'put' | 'del'; key: string; value?: string }> = [{ type: 'put', key: K.version, value: '2' }];
    for await (const entries of kv.entries({ gte: 't!', lt: 't!\xff' })) {
      for (const [key, raw] of entries) {
        const t = JSON.parse(raw) as Task & { dependants?: string[] };
        const old: Record<string, unknown> = { ...t, dependants: t.id === parent.id ? kids.map((k) => k.task.id) : [] };
        delete old.dependant_count;
        ops.push({ type: 'put', key, value: JSON.stringify(old) });
      }
    }
    for await (const keys of kv.keys({ gte: 'p!', lt: 'p!\xff' })) for (const key of keys) ops.push({ type: 'del', key });
    await kv.write(ops.map((o) => (o.type === 'put' ? { type: 'put', key: o.key, value: o.value ?? '' } : { type: 'del', key: o.key })), true);
    await kv.close();

    store = track(await openTaskStore(dir, { autoSweep: false }));
    expect((await store.verifyIntegrity()).problems).toEqual([]);
    const migrated = (await store.get(parent.id))!;
    expect(migrated.dependant_count).toBe(2);
    expect([...migrated.dependants!].sort()).toEqual(kids.map((k) => k.task.id).sort());
    const lease = (await store.leaseNext({ agentId: 'a', capabilities: [] }))!;
    await store.accept(lease.id, lease.generation, 'a');
    await store.complete(lease.id, lease.generation, 'a', null);
    for (const k of kids) expect((await store.get(k.task.id))!.status).toBe('queued');
  });
});

describe('an agent without a lease cannot stall the hub (item 6)', () => {
  it('task.fail with a 1 MB string in error.details is refused cheaply; nothing is stored', async () => {
    // Twenty refusals in a row would close the socket (violations, docs/security.md): this test is about each refusal's cost.
    const h = track(await startInprocHub({ listen: true, config: { violationMax: 100 } }));
    const token = await h.addAgent('f1');
    const client = track(await RawClient.connect(h.wsUrl, 'f1', token));
    const big = 'x'.repeat(1_000_000);
    for (let i = 0; i < 20; i++) {
      client.send({ type: 'task.fail', id: `f${i}`, task_id: '01UNKNOWNTASK', generation: 1, error: { code: 'X', message: 'm', retryable: true, details: big } });
    }
    for (let i = 0; i < 20; i++) {
      const answer = await client.next((m) => m.type === 'error' && m.id === `f${i}`, 10_000, `the answer to f${i}`);
      expect(answer.code).toBe('VALIDATION_FAILED');
      expect(String(answer.message)).toMatch(/details/);
    }
    // Object details are merged with the result, as before, for a real lease.
    const task = (await post(h, '/v1/tasks', { title: 't', executor: 'shell', command: 'true' })).body as unknown as Task;
    const assign = await client.nextOf('task.assign');
    client.send({ type: 'task.fail', id: 'real', task_id: task.id, generation: assign.generation, error: { code: 'EXEC_FAILED', message: 'no', retryable: false, details: { why: 'w' } }, result: { r: 1 } });
    await client.next((m) => m.type === 'ack' && m.id === 'real');
    const failed = (await h.store.get(task.id))!;
    expect(failed.last_error).toMatchObject({ code: 'EXEC_FAILED', details: { why: 'w', result: { r: 1 } } });
    expect((await fetch(`${h.url}/v1/health`)).status).toBe(200);
  });
});

describe('task bodies: validate first, derive after (item 7)', () => {
  const bad: Array<[string, Record<string, unknown>]> = [
    ['capabilities a number, with executor', { title: 't', executor: 'shell', command: 'true', capabilities: 5 }],
    ['capabilities a string, with model', { title: 't', executor: 'ollama', model: 'm', capabilities: 'gpu' }],
    ['duplicate capabilities, with model', { title: 't', executor: 'ollama', model: 'm', capabilities: ['a', 'a'] }],
    ['capabilities null, with model', { title: 't', model: 'm', capabilities: null }],
    ['model of the wrong type', { title: 't', model: 7 }],
  ];
  it.each(bad)('%s -> 400 VALIDATION_FAILED, alone and in a batch, nothing written', async (_name, body) => {
    const h = await hub(false);
    const one = await post(h, '/v1/tasks', body);
    expect(one.status).toBe(400);
    expect(one.body.code).toBe('VALIDATION_FAILED');
    const batch = await post(h, '/v1/tasks/batch', { tasks: [{ title: 'fine' }, body] });
    expect(batch.status).toBe(400);
    expect(batch.body.code).toBe('VALIDATION_FAILED');
    expect(await taskCount(h)).toBe(0);
  });

  it('fuzz: no REST input gets a 5xx, and nothing half-valid is stored (fast-check over the task schema and beyond)', async () => {
    const h = await hub(false);
    const scalar = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ unit: 'binary' }));
    const field = fc.oneof(scalar, fc.array(scalar, { maxLength: 4 }), fc.dictionary(fc.string(), scalar, { maxKeys: 3 }));
    const spec = fc.record(
      {
        title: fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), field),
        executor: fc.oneof(fc.constantFrom('shell', 'ollama', 'claude', 'python'), field),
        command: field,
        model: fc.oneof(fc.constantFrom('m', 'qwen2.5-coder:7b'), field),
        capabilities: fc.oneof(fc.array(fc.constantFrom('gpu', 'a', 'node'), { maxLength: 4 }), field),
        depends_on: field,
        run_at: fc.oneof(fc.integer({ min: 0 }), fc.constant(Date.now() * 1000), field),
        idempotency_key: fc.oneof(fc.string({ minLength: 1 }), fc.constantFrom('k\ud800', 'k\udbff'), field),
        lane: fc.oneof(fc.constantFrom('urgent', 'low'), field),
        metadata: field,
        timeouts: field,
        verification: field,
      },
      { requiredKeys: [] },
    );
    const route = fc.oneof(
      { arbitrary: fc.constant('/v1/tasks'), weight: 4 },
      { arbitrary: fc.constant('/v1/tasks/batch'), weight: 3 },
      { arbitrary: fc.constantFrom('/v1/agents', '/v1/tasks/01X/cancel', '/v1/tasks/01X/retry'), weight: 1 },
    );
    const body = fc.oneof(
      { arbitrary: spec, weight: 4 },
      { arbitrary: fc.record({ tasks: fc.array(spec, { minLength: 1, maxLength: 3 }) }), weight: 3 },
      { arbitrary: field, weight: 1 },
    );
    await fc.assert(
      fc.asyncProperty(route, body, async (url, body) => {
        const res = await h.hub.app.inject({ method: 'POST', url, headers: h.auth({ 'content-type': 'application/json' }), payload: JSON.stringify(body) ?? 'null' });
        expect(res.statusCode, `${url} ${JSON.stringify(body)} -> ${res.body}`).toBeLessThan(500);
        if (res.statusCode === 400) expect(res.body).not.toMatch(/Unsupported Media Type/);
      }),
      { numRuns: 1500 },
    );
    expect((await h.store.verifyIntegrity()).problems).toEqual([]);
  }, 60_000);
});

describe('tokens never reach the log (item 8)', () => {
  it('redacts token-like query parameters by their decoded names', () => {
    expect(redactUrl('/v1/feed?tok%65n=sya_secret')).toBe('/v1/feed?tok%65n=[Redacted]');
    expect(redactUrl('/v1/feed?TOKEN=a&x=1')).toBe('/v1/feed?TOKEN=[Redacted]&x=1');
    expect(redactUrl('/v1/feed?access%5Ftoken=a#h')).toBe('/v1/feed?access%5Ftoken=[Redacted]#h');
    expect(redactUrl('/v1/feed?%E0%A4%A=a')).toBe('/v1/feed?%E0%A4%A=[Redacted]');
    expect(redactUrl('/v1/tasks?status=queued')).toBe('/v1/tasks?status=queued');
  });

  it('a feed opened with ?tok%65n=<admin token> does not put the token in the log', async () => {
    const h = await hub(true, 'info');
    const feed = track(await RawClient.open(`${h.wsUrl}/v1/feed?tok%65n=${encodeURIComponent(h.adminToken)}`));
    await feed.nextOf('hello');
    await waitFor(() => h.logs().includes('/v1/feed'), 'the feed request in the log');
    expect(h.logs()).not.toContain(h.adminToken);
    expect(h.logs()).toContain('[Redacted]');
  });
});
