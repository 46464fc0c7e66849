/**
 * The sidecar protocol spoken by hand: a real hub listening on 127.0.0.1 and raw `ws` clients that
 * send exactly the frames docs/protocol.md describes. Covers the handshake and its refusals, every
 * kind of bad frame (the connection and the hub survive them), the task flow, fencing by
 * generation and lease holder, reject and accept timeout, reconnect reconciliation, replacement,
 * and ping liveness.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { HubConfig } from '../../hub/config.js';
import type { Task, TaskEvent } from '../../shared/task.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { closeAfterEach } from '../support/cleanup.js';
import { helloMessage, RawClient, RESOURCES, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';

/** Registers something to close after the test (clients first, then hubs: reverse order). */
const track = closeAfterEach();

async function hubWith(config: Partial<HubConfig> = {}): Promise<InprocHub> {
  return track(await startInprocHub({ listen: true, config }));
}

async function agent(h: InprocHub, id: string, over: Record<string, unknown> = {}, options: WebSocket.ClientOptions = {}): Promise<{ client: RawClient; token: string }> {
  const token = await h.addAgent(id);
  const client = track(await RawClient.connect(h.wsUrl, id, token, over, options));
  return { client, token };
}

async function rawSocket(h: InprocHub): Promise<RawClient> {
  return track(await RawClient.open(`${h.wsUrl}/v1/agent`));
}

async function createTask(h: InprocHub, spec: Record<string, unknown> = {}): Promise<Task> {
  const res = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'job', command: 'true', ...spec } });
  expect(res.statusCode).toBe(201);
  return res.json() as Task;
}

async function showTask(h: InprocHub, id: string): Promise<{ task: Task; events: TaskEvent[] }> {
  const res = await fetch(`${h.url}/v1/tasks/${id}`, { headers: h.auth() });
  expect(res.status).toBe(200);
  return (await res.json()) as { task: Task; events: TaskEvent[] };
}

/** The next task.assign frame, typed. */
async function nextAssign(c: RawClient, timeoutMs = 5000): Promise<{ task: Task; generation: number; lease_expires_at: number }> {
  const m = await c.nextOf('task.assign', timeoutMs);
  return m as unknown as { task: Task; generation: number; lease_expires_at: number };
}

/** The answer (ack or error) to the message with this id. */
function answerTo(c: RawClient, id: string): Promise<Record<string, unknown>> {
  return c.next((m) => (m.type === 'ack' || m.type === 'error') && m.id === id, 5000, `the answer to ${id}`);
}

describe('handshake', () => {
  it('welcomes a valid hello with the protocol version, heartbeat interval and ping interval', async () => {
    const h = await hubWith({ heartbeatMs: 1234 });
    const token = await h.addAgent('w1');
    const c = track(await rawSocket(h));
    c.send(helloMessage('w1', token, { capabilities: ['gpu'], sidecar_version: '9.9.9' }));
    expect(await c.nextOf('welcome')).toEqual({ type: 'welcome', protocol: PROTOCOL_VERSION, agent_id: 'w1', heartbeat_ms: 1234, ping_ms: h.config.pingMs });
    const view = (await h.hub.app.inject({ method: 'GET', url: '/v1/agents/w1', headers: h.auth() })).json();
    expect(view).toMatchObject({ id: 'w1', state: 'idle', capabilities: ['gpu'], max_concurrency: 1 });
  });

  it('refuses a wrong token: error UNAUTHORIZED, close 4001', async () => {
    const h = await hubWith();
    await h.addAgent('w1');
    const c = await rawSocket(h);
    c.send(helloMessage('w1', 'sy_agent_wrong'));
    expect(await c.nextOf('error')).toMatchObject({ code: 'UNAUTHORIZED', retryable: false });
    expect((await c.closed).code).toBe(4001);
    expect(h.hub.registry.get('w1')?.conn ?? null).toBeNull();
  });

  it("refuses an unknown agent, even with another agent's valid token", async () => {
    const h = await hubWith();
    const token = await h.addAgent('w1');
    const c = await rawSocket(h);
    c.send(helloMessage('ghost', token));
    expect(await c.nextOf('error')).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await c.closed).code).toBe(4001);
  });

  it('refuses another protocol version: PROTOCOL_VERSION_MISMATCH, close 4000', async () => {
    const h = await hubWith();
    const token = await h.addAgent('w1');
    const c = await rawSocket(h);
    c.send(helloMessage('w1', token, { protocol: PROTOCOL_VERSION + 1 }));
    const err = await c.nextOf('error');
    expect(err).toMatchObject({ code: 'PROTOCOL_VERSION_MISMATCH', retryable: false, details: { hub: PROTOCOL_VERSION, sidecar: PROTOCOL_VERSION + 1 } });
    expect((await c.closed).code).toBe(4000);
  });

  it('answers a message before hello with PROTOCOL_NOT_READY (id echoed) and closes 4002', async () => {
    const h = await hubWith();
    const c = await rawSocket(h);
    c.send({ type: 'task.accept', id: 'm-1', task_id: 'T1', generation: 1 });
    expect(await c.nextOf('error')).toMatchObject({ code: 'PROTOCOL_NOT_READY', id: 'm-1' });
    expect((await c.closed).code).toBe(4002);
  });

  it('answers an invalid hello with VALIDATION_FAILED and accepts a corrected one on the same socket', async () => {
    const h = await hubWith();
    const token = await h.addAgent('w1');
    const c = track(await rawSocket(h));
    const { resources: _missing, ...noResources } = helloMessage('w1', token);
    c.send(noResources);
    const err = await c.nextOf('error');
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(err.message).toMatch(/resources/);
    c.send(helloMessage('w1', token, { max_concurrency: 0 }));
    expect((await c.nextOf('error')).message).toMatch(/max_concurrency/);
    c.send(helloMessage('w1', token));
    expect(await c.nextOf('welcome')).toMatchObject({ agent_id: 'w1' });
  });

  it('refuses a second hello on the same connection, and keeps the connection', async () => {
    const h = await hubWith();
    const { client, token } = await agent(h, 'w1');
    client.send(helloMessage('w1', token));
    expect(await client.nextOf('error')).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('closes the older of two connections of one agent with 4009', async () => {
    const h = await hubWith();
    const { client: first, token } = await agent(h, 'w1');
    const second = track(await RawClient.connect(h.wsUrl, 'w1', token));
    expect((await first.closed).code).toBe(4009);
    // The registry keeps the newer connection: work still reaches it.
    const t = await createTask(h);
    expect((await nextAssign(second)).task.id).toBe(t.id);
    expect(h.hub.registry.get('w1')?.state).toBe('assigned');
  });

  it('closes the connection of an agent an operator removes with 4010; its token stops working', async () => {
    const h = await hubWith();
    const { client, token } = await agent(h, 'w1');
    const res = await h.hub.app.inject({ method: 'DELETE', url: '/v1/agents/w1', headers: h.auth() });
    expect(res.statusCode).toBe(204);
    expect((await client.closed).code).toBe(4010);
    const again = await rawSocket(h);
    again.send(helloMessage('w1', token));
    expect(await again.nextOf('error')).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await again.closed).code).toBe(4001);
  });
});

describe('bad frames', () => {
  it('names the id of every refused message it can read one from: unknown type, and oversized when the id comes first', async () => {
    const h = await hubWith();
    const { client: c } = await agent(h, 'w1');
    c.send({ type: 'task.explode', id: 'u-1' });
    expect(await c.nextOf('error')).toMatchObject({ code: 'PROTOCOL_UNKNOWN_TYPE', id: 'u-1' });
    c.send(`{"type":"task.complete","id":"big-1","task_id":"T1","generation":1,"result":{"id":"nested","log":"${'x'.repeat(1_200_000)}"}}`);
    expect(await c.nextOf('error')).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', id: 'big-1', retryable: false });
    // An id behind a large field is not looked for, and a nested one is never taken for it.
    c.send(`{"type":"task.complete","result":{"id":"nested","log":"${'x'.repeat(1_200_000)}"},"id":"big-2"}`);
    const late = await c.nextOf('error');
    expect(late.code).toBe('PAYLOAD_TOO_LARGE');
    expect(late.id).toBeUndefined();
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('survives every kind of bad frame, answering each with an error', async () => {
    const h = await hubWith();
    const { client: c } = await agent(h, 'w1');

    c.send('{"type": "heartbeat",');
    expect(await c.nextOf('error')).toMatchObject({ code: 'PROTOCOL_INVALID_JSON', retryable: false });

    c.send({ type: 'task.explode', id: 'm-2' });
    expect(await c.nextOf('error')).toMatchObject({ code: 'PROTOCOL_UNKNOWN_TYPE' });

    c.send('[1,2,3]');
    expect(await c.nextOf('error')).toMatchObject({ code: 'PROTOCOL_UNKNOWN_TYPE' });

    c.send({ type: 'task.accept', id: 'm-3', task_id: 'T1', generation: 'x' });
    const wrongType = await c.nextOf('error');
    expect(wrongType).toMatchObject({ code: 'VALIDATION_FAILED', id: 'm-3' });
    expect(wrongType.message).toMatch(/generation/);

    c.send({ type: 'task.accept', id: 'm-4', task_id: 'T1', generation: 1, sneaky: true });
    const extra = await c.nextOf('error');
    expect(extra).toMatchObject({ code: 'VALIDATION_FAILED', id: 'm-4' });
    expect(extra.message).toMatch(/sneaky/);

    c.send({ type: 'task.accept', task_id: 'T1', generation: 1 }); // no id: nothing to echo
    const noId = await c.nextOf('error');
    expect(noId).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(noId.id).toBeUndefined();

    c.send({ type: 'heartbeat', id: 7, resources: RESOURCES, tasks: [] });
    const numericId = await c.nextOf('error');
    expect(numericId.code).toBe('VALIDATION_FAILED');
    expect(numericId.id).toBeUndefined(); // only a string id is echoed

    c.ws.send(Buffer.from('{"type":"heartbeat"}'), { binary: true });
    expect(await c.nextOf('error')).toMatchObject({ code: 'PROTOCOL_INVALID_JSON' });

    // 1.5 MB: over the protocol's frame limit but under ws's hard limit: an error frame.
    c.send(JSON.stringify({ type: 'goodbye', reason: 'x'.repeat(1_500_000) }));
    expect(await c.nextOf('error')).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', retryable: false });

    // Still connected and working: a valid heartbeat is acted on (the hub records its resources).
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.send({ type: 'heartbeat', resources: { ...RESOURCES, load_1m: 1.75 }, tasks: [] });
    await waitFor(() => h.hub.registry.get('w1')?.resources?.load_1m === 1.75, 'the heartbeat to be applied');
    expect(c.unread().filter((m) => m.type === 'error')).toEqual([]);

    // Over ws's hard limit (twice the frame limit): ws closes the socket with 1009 unread.
    c.send(JSON.stringify({ type: 'goodbye', reason: 'y'.repeat(3_000_000) }));
    expect((await c.closed).code).toBe(1009);

    // The hub is up, another agent connects and gets work, and the store is consistent.
    const health = await fetch(`${h.url}/v1/health`);
    expect(health.status).toBe(200);
    const { client: other } = await agent(h, 'w2');
    const t = await createTask(h);
    expect((await nextAssign(other)).task.id).toBe(t.id);
    expect(await h.store.verifyIntegrity()).toMatchObject({ ok: true, problems: [] });
  });

  it('closes a connection after violationMax (20) bad frames in a minute with 4003, saying how long to stay away', async () => {
    const h = await hubWith();
    const { client: c } = await agent(h, 'w1');
    for (let i = 0; i < 25; i++) c.send('not json');
    expect((await c.closed).code).toBe(4003);
    expect(c.received.filter((m) => m.code === 'PROTOCOL_INVALID_JSON')).toHaveLength(20);
    expect(c.received.find((m) => m.code === 'TOO_MANY_VIOLATIONS')).toMatchObject({ details: { retry_after_ms: 30_000 } });
    await waitFor(() => h.hub.registry.get('w1')?.state === 'offline', 'the agent to go offline');
  });
});

describe('task flow', () => {
  it('assign -> accept -> progress (on the feed) -> complete', async () => {
    const h = await hubWith();
    const feed = track(new RawClient(`${h.wsUrl}/v1/feed`, { headers: h.auth() }));
    await feed.opened;
    await feed.nextOf('hello');
    const { client: c } = await agent(h, 'w1');

    const t = await createTask(h, { title: 'compile', executor: 'shell', command: 'make' });
    const assign = await nextAssign(c);
    expect(assign.task).toMatchObject({ id: t.id, title: 'compile', command: 'make', status: 'assigned', generation: 1 });
    expect(assign.generation).toBe(1);
    expect(assign.lease_expires_at).toBe(assign.task.lease!.expires_at);

    c.send({ type: 'task.accept', id: 'acc-1', task_id: t.id, generation: 1 });
    expect(await answerTo(c, 'acc-1')).toEqual({ type: 'ack', id: 'acc-1' });
    expect((await showTask(h, t.id)).task).toMatchObject({ status: 'running', attempts: 1 });

    c.send({ type: 'task.progress', task_id: t.id, generation: 1, seq: 1, data: [{ stream: 'stdout', data: 'compiling\n' }] });
    c.send({ type: 'task.progress', task_id: t.id, generation: 1, seq: 1, data: [{ stream: 'stdout', data: 'a repeat\n' }] });
    c.send({ type: 'task.progress', task_id: t.id, generation: 1, seq: 2, data: [{ stream: 'stderr', data: 'warning\n' }] });
    const p1 = await feed.nextOf('task.progress');
    const p2 = await feed.nextOf('task.progress');
    expect(p1).toEqual({ type: 'task.progress', task_id: t.id, generation: 1, seq: 1, agent_id: 'w1', data: [{ stream: 'stdout', data: 'compiling\n' }] });
    expect(p2).toMatchObject({ seq: 2, data: [{ stream: 'stderr', data: 'warning\n' }] });

    // A heartbeat naming the task renews its lease.
    const leased = (await showTask(h, t.id)).task.lease!.expires_at;
    await new Promise((r) => setTimeout(r, 20));
    c.send({ type: 'heartbeat', resources: RESOURCES, tasks: [{ task_id: t.id, generation: 1 }] });
    await waitFor(async () => (await h.store.get(t.id))!.lease!.expires_at > leased, 'the lease to be renewed');

    c.send({ type: 'task.complete', id: 'done-1', task_id: t.id, generation: 1, result: { exit_code: 0, summary: 'built' } });
    expect(await answerTo(c, 'done-1')).toEqual({ type: 'ack', id: 'done-1' });
    const shown = await showTask(h, t.id);
    expect(shown.task).toMatchObject({ status: 'completed', result: { exit_code: 0, summary: 'built' }, lease: null });
    expect(shown.events.map((e) => e.to)).toEqual(['queued', 'assigned', 'running', 'completed']);
    // The repeated seq 1 never reached the feed.
    expect(feed.received.filter((m) => m.type === 'task.progress')).toHaveLength(2);

    // A repeat of the completion (its ack was lost, say) is refused without changing anything.
    c.send({ type: 'task.complete', id: 'done-2', task_id: t.id, generation: 1, result: null });
    expect(await answerTo(c, 'done-2')).toMatchObject({ type: 'error', code: 'STALE_GENERATION' });
    expect((await showTask(h, t.id)).task.result).toEqual({ exit_code: 0, summary: 'built' });
  });

  it('refuses a completion of a task that was never accepted (ILLEGAL_TRANSITION)', async () => {
    const h = await hubWith();
    const { client: c } = await agent(h, 'w1');
    const t = await createTask(h);
    await nextAssign(c);
    c.send({ type: 'task.complete', id: 'early', task_id: t.id, generation: 1, result: null });
    expect(await answerTo(c, 'early')).toMatchObject({ type: 'error', code: 'ILLEGAL_TRANSITION', retryable: false });
    expect((await h.store.get(t.id))!.status).toBe('assigned');
  });

  it('records task.fail with its error, and retries it after backoff', async () => {
    const h = await hubWith();
    const { client: c } = await agent(h, 'w1');
    const t = await createTask(h);
    await nextAssign(c);
    c.send({ type: 'task.accept', id: 'a', task_id: t.id, generation: 1 });
    await answerTo(c, 'a');
    c.send({
      type: 'task.fail',
      id: 'f',
      task_id: t.id,
      generation: 1,
      error: { code: 'EXEC_EXIT_NONZERO', message: 'exited with status 2', retryable: true },
      result: { exit_code: 2 },
    });
    expect(await answerTo(c, 'f')).toEqual({ type: 'ack', id: 'f' });
    const task = (await showTask(h, t.id)).task;
    expect(task).toMatchObject({ status: 'failed', last_error: { code: 'EXEC_EXIT_NONZERO', retryable: true, details: { result: { exit_code: 2 } } } });
    expect(task.next_run_at).toBeGreaterThan(0);
  });

  it('fences by generation and by lease holder: refused messages change nothing', async () => {
    const h = await hubWith();
    const { client: a } = await agent(h, 'A');
    const t = await createTask(h);
    expect((await nextAssign(a)).generation).toBe(1);
    // B connects after the offer went to A.
    const { client: b } = await agent(h, 'B');
    // A gives it back; it goes to B at generation 2.
    a.send({ type: 'task.reject', id: 'rej', task_id: t.id, generation: 1, code: 'NO_EXECUTOR', reason: 'cannot run it' });
    expect(await answerTo(a, 'rej')).toEqual({ type: 'ack', id: 'rej' });
    expect((await nextAssign(b)).generation).toBe(2);
    b.send({ type: 'task.accept', id: 'b-acc', task_id: t.id, generation: 2 });
    expect(await answerTo(b, 'b-acc')).toEqual({ type: 'ack', id: 'b-acc' });

    const before = await showTask(h, t.id);
    const events = (await h.store.events({ limit: 1000 })).items;

    // A completes its old generation: stale.
    a.send({ type: 'task.complete', id: 'a-old', task_id: t.id, generation: 1, result: 'mine' });
    expect(await answerTo(a, 'a-old')).toMatchObject({ type: 'error', code: 'STALE_GENERATION', retryable: false });
    // B names the old generation too: still stale (generation is checked first).
    b.send({ type: 'task.complete', id: 'b-old', task_id: t.id, generation: 1, result: 'old' });
    expect(await answerTo(b, 'b-old')).toMatchObject({ type: 'error', code: 'STALE_GENERATION' });
    // A names B's generation: not its lease.
    a.send({ type: 'task.accept', id: 'a-acc', task_id: t.id, generation: 2 });
    expect(await answerTo(a, 'a-acc')).toMatchObject({ type: 'error', code: 'NOT_LEASE_HOLDER', retryable: false });
    a.send({ type: 'task.complete', id: 'a-steal', task_id: t.id, generation: 2, result: 'stolen' });
    expect(await answerTo(a, 'a-steal')).toMatchObject({ type: 'error', code: 'NOT_LEASE_HOLDER' });
    a.send({ type: 'task.fail', id: 'a-fail', task_id: t.id, generation: 2, error: { code: 'X', message: 'x', retryable: false } });
    expect(await answerTo(a, 'a-fail')).toMatchObject({ type: 'error', code: 'NOT_LEASE_HOLDER' });
    a.send({ type: 'task.reject', id: 'a-rej', task_id: t.id, generation: 2, code: 'NO', reason: 'no' });
    expect(await answerTo(a, 'a-rej')).toMatchObject({ type: 'error', code: 'NOT_LEASE_HOLDER' });
    // Progress of a lease it does not hold: an error without id, and nothing on the feed.
    a.send({ type: 'task.progress', task_id: t.id, generation: 2, seq: 1, data: [{ stream: 'stdout', data: 'forged' }] });
    expect(await a.nextOf('error')).toMatchObject({ code: 'STALE_GENERATION' });
    a.send({ type: 'task.progress', task_id: t.id, generation: 2, seq: 2, data: [{ stream: 'stdout', data: 'forged' }] });
    expect(await a.nextOf('error')).toMatchObject({ code: 'STALE_GENERATION', details: { task_id: t.id, generation: 2 } });
    // A heartbeat renewing a lease it does not hold is told to drop it.
    a.send({ type: 'heartbeat', resources: RESOURCES, tasks: [{ task_id: t.id, generation: 2 }] });
    expect(await a.nextOf('task.drop')).toMatchObject({ task_id: t.id, generation: 2 });
    // An unknown task.
    a.send({ type: 'task.accept', id: 'a-none', task_id: 'NO-SUCH-TASK', generation: 1 });
    expect(await answerTo(a, 'a-none')).toMatchObject({ type: 'error', code: 'TASK_NOT_FOUND' });

    expect(await showTask(h, t.id)).toEqual(before);
    expect((await h.store.events({ limit: 1000 })).items).toEqual(events);

    b.send({ type: 'task.complete', id: 'b-done', task_id: t.id, generation: 2, result: 'real' });
    expect(await answerTo(b, 'b-done')).toEqual({ type: 'ack', id: 'b-done' });
    expect((await showTask(h, t.id)).task).toMatchObject({ status: 'completed', result: 'real' });
  });

  it('re-offers a rejected task to another connected agent, never to the one that rejected it', async () => {
    const h = await hubWith();
    const { client: a } = await agent(h, 'A', { max_concurrency: 4 });
    const t = await createTask(h);
    await nextAssign(a);
    const { client: b } = await agent(h, 'B');
    a.send({ type: 'task.reject', id: 'r', task_id: t.id, generation: 1, code: 'NO_EXECUTOR', reason: 'cannot run shell' });
    await answerTo(a, 'r');
    const offered = await nextAssign(b);
    expect(offered.task.id).toBe(t.id);
    expect(offered.generation).toBe(2);
    // A had free slots the whole time, yet got only the first offer.
    expect(a.received.filter((m) => m.type === 'task.assign')).toHaveLength(1);
    const events = (await showTask(h, t.id)).events;
    expect(events.map((e) => [e.to, e.actor])).toEqual([
      ['queued', 'admin'],
      ['assigned', 'agent:A'],
      ['queued', 'agent:A'],
      ['assigned', 'agent:B'],
    ]);
    expect(events[2]!.reason).toMatch(/NO_EXECUTOR: cannot run shell/);
  });

  it('offers a task rejected as BUSY to the same agent again after its next heartbeat (BUSY says nothing about the task)', async () => {
    const h = await hubWith();
    const { client: a } = await agent(h, 'A');
    const t = await createTask(h);
    expect((await nextAssign(a)).generation).toBe(1);
    a.send({ type: 'task.reject', id: 'busy', task_id: t.id, generation: 1, code: 'BUSY', reason: 'no free slot' });
    expect(await answerTo(a, 'busy')).toEqual({ type: 'ack', id: 'busy' });
    // No offer bounces back before the agent says (by a heartbeat) that it may have room.
    await new Promise((r) => setTimeout(r, 200));
    expect(a.unread().some((m) => m.type === 'task.assign')).toBe(false);
    a.send({ type: 'heartbeat', resources: RESOURCES, tasks: [] });
    expect(await nextAssign(a)).toMatchObject({ task: { id: t.id }, generation: 2 });
  });
});

describe('what the docs promise a sidecar author', () => {
  it('records a reject as exactly "released: <code>: <reason>", and a reject by the delegate (even BUSY) ends the delegation', async () => {
    const h = await hubWith();
    const { client: a } = await agent(h, 'A');
    const { client: b } = await agent(h, 'B');
    const t = await createTask(h, { agent: 'A' });
    expect((await nextAssign(a)).task).toMatchObject({ id: t.id, delegate: 'A' });
    a.send({ type: 'task.reject', id: 'busy', task_id: t.id, generation: 1, code: 'BUSY', reason: 'no free slot' });
    expect(await answerTo(a, 'busy')).toEqual({ type: 'ack', id: 'busy' });
    // B, which the delegation kept away, gets it now.
    expect(await nextAssign(b)).toMatchObject({ task: { id: t.id, delegate: null, agent: 'A' }, generation: 2 });
    const released = (await showTask(h, t.id)).events.find((e) => e.from === 'assigned' && e.to === 'queued')!;
    expect(released).toMatchObject({ actor: 'agent:A', reason: 'released: BUSY: no free slot' });
  });

  it('may offer a task whose running lease expired to the same agent again, at a new generation', async () => {
    const h = await hubWith({ leaseMs: 300 });
    const { client: a } = await agent(h, 'A');
    const t = await createTask(h);
    const first = await nextAssign(a);
    a.send({ type: 'task.accept', id: 'acc', task_id: t.id, generation: first.generation });
    expect(await answerTo(a, 'acc')).toMatchObject({ type: 'ack' });
    // No heartbeat: the lease runs out. Only the lease: the connection stays.
    expect(await a.nextOf('task.cancel', 5000)).toMatchObject({ task_id: t.id, generation: 1, reason: 'LEASE_EXPIRED: requeued' });
    expect(await nextAssign(a, 5000)).toMatchObject({ task: { id: t.id, last_error: { code: 'LEASE_EXPIRED' } }, generation: 2 });
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('drops a listed generation newer than the hub\u2019s with a reason that says so, not "superseded"', async () => {
    const h = await hubWith();
    const { client: a, token } = await agent(h, 'A');
    const t = await createTask(h);
    expect((await nextAssign(a)).generation).toBe(1);
    await a.close();
    const again = track(await RawClient.connect(h.wsUrl, 'A', token, { in_flight: [{ task_id: t.id, generation: 7, state: 'running' }] }));
    expect(await again.nextOf('task.drop')).toEqual({ type: 'task.drop', task_id: t.id, generation: 7, reason: 'not a generation the hub assigned: its lease is at generation 1' });
  });
});

describe('acceptance timeout', () => {
  it('takes back an offer not accepted in time and gives it to another agent', async () => {
    const h = await hubWith({ acceptTimeoutMs: 300 });
    const { client: a } = await agent(h, 'A');
    const t = await createTask(h);
    const first = await nextAssign(a);
    expect(first.task.timeouts.start_ms).toBe(300);
    const { client: b } = await agent(h, 'B');
    const second = await nextAssign(b, 5000);
    expect(second).toMatchObject({ generation: 2, task: { id: t.id } });
    // A is told its offer is gone.
    expect(await a.nextOf('task.cancel')).toMatchObject({ task_id: t.id, generation: 1 });
    // Too late for A now.
    a.send({ type: 'task.accept', id: 'late', task_id: t.id, generation: 1 });
    expect(await answerTo(a, 'late')).toMatchObject({ type: 'error', code: 'STALE_GENERATION' });
    const events = (await showTask(h, t.id)).events;
    expect(events[2]).toMatchObject({ from: 'assigned', to: 'queued', actor: 'sweeper' });
    expect(events[2]!.reason).toMatch(/not accepted by A in time/);
  });
});

describe('reconnect', () => {
  async function runningTask(h: InprocHub, c: RawClient): Promise<Task> {
    const t = await createTask(h);
    const assign = await nextAssign(c);
    expect(assign.task.id).toBe(t.id);
    c.send({ type: 'task.accept', id: `acc-${t.id}`, task_id: t.id, generation: assign.generation });
    expect(await answerTo(c, `acc-${t.id}`)).toMatchObject({ type: 'ack' });
    return t;
  }

  it('resumes a task the sidecar lists with its generation; its result is then accepted', async () => {
    const h = await hubWith();
    const { client: first, token } = await agent(h, 'w1');
    const t = await runningTask(h, first);
    await first.close();
    await waitFor(() => h.hub.registry.get('w1')?.state === 'offline', 'w1 to go offline');
    // The lease outlives the connection.
    expect((await h.store.get(t.id))!.status).toBe('running');

    const again = track(await RawClient.connect(h.wsUrl, 'w1', token, { in_flight: [{ task_id: t.id, generation: 1, state: 'running' }] }));
    const resume = await again.nextOf('task.resume');
    expect(resume).toMatchObject({ type: 'task.resume', task_id: t.id, generation: 1, task: { id: t.id, status: 'running' } });
    again.send({ type: 'task.complete', id: 'c', task_id: t.id, generation: 1, result: 'after reconnect' });
    expect(await answerTo(again, 'c')).toEqual({ type: 'ack', id: 'c' });
    expect((await h.store.get(t.id))!.status).toBe('completed');
  });

  it('handles messages sent right after hello, before reconciliation ends, in order after it', async () => {
    const h = await hubWith();
    const { client: first, token } = await agent(h, 'w1');
    const t = await createTask(h);
    expect((await nextAssign(first)).generation).toBe(1);
    await first.close();
    // Pipelined: hello listing the offer, and its accept, without waiting for welcome.
    const again = track(await RawClient.open(`${h.wsUrl}/v1/agent`));
    again.send(helloMessage('w1', token, { in_flight: [{ task_id: t.id, generation: 1, state: 'assigned' }] }));
    again.send({ type: 'task.accept', id: 'piped', task_id: t.id, generation: 1 });
    await again.nextOf('welcome');
    expect(await again.nextOf('task.resume')).toMatchObject({ task_id: t.id, generation: 1, task: { status: 'assigned' } });
    expect(await answerTo(again, 'piped')).toEqual({ type: 'ack', id: 'piped' });
    const order = again.received.map((m) => m.type);
    expect(order.indexOf('task.resume')).toBeLessThan(order.indexOf('ack'));
    expect((await h.store.get(t.id))!.status).toBe('running');
  });

  it('marks an agent offline when its socket closes while its hello is still being reconciled', async () => {
    const h = await hubWith();
    const n = 40;
    // Queued before w1 connects: its hello fills all n slots.
    for (let i = 0; i < n; i++) await createTask(h, { title: `t${i}` });
    const { client: first, token } = await agent(h, 'w1', { max_concurrency: n });
    const offers = [];
    for (let i = 0; i < n; i++) offers.push(await nextAssign(first));
    await first.close();
    // Each listed lease is renewed (one durable write each) after welcome: close on welcome.
    const again = track(await RawClient.open(`${h.wsUrl}/v1/agent`));
    again.send(helloMessage('w1', token, { max_concurrency: n, in_flight: offers.map((o) => ({ task_id: o.task.id, generation: o.generation, state: 'assigned' })) }));
    await again.nextOf('welcome');
    again.ws.terminate();
    await again.closed;
    await waitFor(() => h.hub.registry.get('w1')?.state === 'offline', 'w1 to be offline');
    // And stays so: nothing is offered to the dead connection.
    await waitFor(async () => (await h.store.leasedBy('w1')).every((t) => t.status === 'assigned'), 'reconciliation to settle');
    expect(h.hub.registry.get('w1')?.conn).toBeNull();
  });

  it('drops a listed task whose generation is not the lease, and reclaims the lease it does not have', async () => {
    const h = await hubWith();
    const { client: first, token } = await agent(h, 'w1');
    const t = await runningTask(h, first);
    await first.close();
    const again = track(await RawClient.connect(h.wsUrl, 'w1', token, { in_flight: [{ task_id: t.id, generation: 5, state: 'running' }] }));
    expect(await again.nextOf('task.drop')).toMatchObject({ task_id: t.id, generation: 5 });
    // The hub's lease (generation 1) is one the sidecar does not have: failed as lost, for a retry.
    await waitFor(async () => (await h.store.get(t.id))!.status === 'failed', 'the lost task to fail');
    expect((await h.store.get(t.id))!.last_error).toMatchObject({ code: 'AGENT_LOST_TASK', retryable: true });
  });

  it('drops a listed task that is no longer leased to it', async () => {
    const h = await hubWith();
    const { client: first, token } = await agent(h, 'w1');
    const t = await runningTask(h, first);
    await first.close();
    await h.hub.app.inject({ method: 'POST', url: `/v1/tasks/${t.id}/cancel`, headers: h.auth() });
    const again = track(await RawClient.connect(h.wsUrl, 'w1', token, { in_flight: [{ task_id: t.id, generation: 1, state: 'finished' }] }));
    const drop = await again.nextOf('task.drop');
    expect(drop).toMatchObject({ task_id: t.id, generation: 1, reason: 'no longer leased to this agent' });
    // Its resent result is refused for good (not retryable): the sidecar forgets it.
    again.send({ type: 'task.complete', id: 'late', task_id: t.id, generation: 1, result: 'late' });
    expect(await answerTo(again, 'late')).toMatchObject({ type: 'error', code: 'STALE_GENERATION', retryable: false });
    expect((await h.store.get(t.id))!.status).toBe('cancelled');
  });

  it('releases an unlisted assigned task and fails an unlisted running one with AGENT_LOST_TASK', async () => {
    const h = await hubWith();
    const { client: first, token } = await agent(h, 'w1', { max_concurrency: 2 });
    const running = await runningTask(h, first);
    const offered = await createTask(h, { title: 'offered only' });
    expect((await nextAssign(first)).task.id).toBe(offered.id);
    await first.close();

    const again = track(await RawClient.connect(h.wsUrl, 'w1', token, { max_concurrency: 2, in_flight: [] }));
    await waitFor(async () => (await h.store.get(running.id))!.status === 'failed', 'the running task to fail');
    expect((await h.store.get(running.id))!.last_error).toMatchObject({ code: 'AGENT_LOST_TASK', retryable: true });
    const released = await waitFor(
      async () => (await showTask(h, offered.id)).events.find((e) => e.from === 'assigned' && e.to === 'queued'),
      'the offered task to be released',
    );
    expect(released).toMatchObject({
      actor: 'agent:w1',
      reason: 'released: agent reconnected without it',
    });
    // Released, it is queued and offered again: to this agent, at a new generation.
    expect(await nextAssign(again)).toMatchObject({ task: { id: offered.id }, generation: 2 });
    expect(again.unread().filter((m) => m.type === 'task.resume' || m.type === 'task.drop')).toEqual([]);
  });
});

describe('ping liveness', () => {
  it('terminates a client that does not answer pings, and keeps one that does', async () => {
    const h = await hubWith({ pingMs: 100 });
    const { client: silent } = await agent(h, 'silent', {}, { autoPong: false });
    const { client: lively } = await agent(h, 'lively');
    const closed = await silent.closed;
    expect(closed.code).toBe(1006); // terminated: no close frame
    expect(silent.pings).toBeGreaterThanOrEqual(1);
    await waitFor(() => h.hub.registry.get('silent')?.state === 'offline', 'the silent agent to go offline');
    const seen = lively.pings;
    await waitFor(() => lively.pings >= seen + 3, 'more pings to the lively client');
    expect(lively.ws.readyState).toBe(WebSocket.OPEN);
    expect(h.hub.registry.get('lively')?.state).toBe('idle');
  });
});
