/**
 * The live feed (/v1/feed) on a real listening hub: who may subscribe (the admin token, in the
 * header or `?token=`), what a subscriber sees (a hello, then every task change in commit order,
 * agent changes, progress), and that a subscriber too slow to keep up is dropped.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Task } from '../../shared/task.js';
import { ADMIN_TOKEN, RawClient, RESOURCES, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub;
const clients: RawClient[] = [];

beforeEach(async () => {
  h = await startInprocHub({ listen: true });
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await h.close();
});

async function subscribe(query = `?token=${ADMIN_TOKEN}`, headers: Record<string, string> = {}): Promise<RawClient> {
  const c = new RawClient(`${h.wsUrl}/v1/feed${query}`, { headers });
  clients.push(c);
  await c.opened;
  return c;
}

/** The HTTP status with which the hub refuses a feed upgrade, and its error body. */
function refusal(query: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${h.wsUrl}/v1/feed${query}`, { headers });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the feed accepted the connection'));
    });
    ws.on('error', () => undefined);
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        ws.terminate();
      });
    });
  });
}

async function createTask(spec: Record<string, unknown> = {}): Promise<Task> {
  const res = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'job', command: 'true', ...spec } });
  expect(res.statusCode).toBe(201);
  return res.json() as Task;
}

describe('subscribing', () => {
  it('requires the admin token', async () => {
    expect(await refusal('')).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED', retryable: false } });
    expect(await refusal('?token=sya_wrong')).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } });
    expect(await refusal('', { authorization: 'Bearer sya_wrong' })).toMatchObject({ status: 401 });
    const agentToken = await h.addAgent('w1');
    expect(await refusal(`?token=${agentToken}`)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(h.hub.feed.size).toBe(0);
  });

  it('accepts the admin token in the Authorization header or in ?token=, and starts with a hello', async () => {
    await createTask({ lane: 'urgent' });
    const byHeader = await subscribe('', { authorization: `Bearer ${ADMIN_TOKEN}` });
    const byQuery = await subscribe();
    for (const c of [byHeader, byQuery]) {
      const hello = await c.nextOf('hello');
      expect(hello).toMatchObject({ type: 'hello', agents: [], stats: { queued: { urgent: 1, high: 0, normal: 0, low: 0 }, leases: 0 } });
    }
    await waitFor(() => h.hub.feed.size === 2, 'both subscribers to register');
  });
});

describe('events', () => {
  it("sends a task's changes in order, through its whole life", async () => {
    const feed = await subscribe();
    await feed.nextOf('hello');
    const token = await h.addAgent('w1');
    const sidecar = await RawClient.connect(h.wsUrl, 'w1', token);
    clients.push(sidecar);

    const t = await createTask({ title: 'life' });
    const assign = await sidecar.nextOf('task.assign');
    sidecar.send({ type: 'task.accept', id: 'a', task_id: t.id, generation: assign.generation as number });
    await sidecar.next((m) => m.id === 'a');
    sidecar.send({ type: 'task.progress', task_id: t.id, generation: 1, seq: 1, data: [{ stream: 'stdout', data: 'half way\n' }] });
    sidecar.send({ type: 'task.complete', id: 'c', task_id: t.id, generation: 1, result: { ok: true } });
    await sidecar.next((m) => m.id === 'c');

    const changes: Array<Record<string, any>> = [];
    while (changes.length < 4) changes.push(await feed.next((m) => m.type === 'task.changed' && (m.task as Task).id === t.id));
    expect(changes.map((m) => [m.event.from, m.event.to, m.task.status])).toEqual([
      [null, 'queued', 'queued'],
      ['queued', 'assigned', 'assigned'],
      ['assigned', 'running', 'running'],
      ['running', 'completed', 'completed'],
    ]);
    expect(changes.map((m) => m.event.actor)).toEqual(['admin', 'agent:w1', 'agent:w1', 'agent:w1']);
    // Event ids are the audit log's, so they increase.
    const ids = changes.map((m) => m.event.id as string);
    expect([...ids].sort()).toEqual(ids);
    expect(changes[3]!.task.result).toEqual({ ok: true });
    // Progress went out between running and completed.
    const order = feed.received.map((m) => (m.type === 'task.changed' ? `changed:${m.event && (m.event as any).to}` : m.type));
    const progressAt = order.indexOf('task.progress');
    expect(progressAt).toBeGreaterThan(order.indexOf('changed:running'));
    expect(progressAt).toBeLessThan(order.indexOf('changed:completed'));
    expect(feed.received.find((m) => m.type === 'task.progress')).toMatchObject({ task_id: t.id, seq: 1, agent_id: 'w1' });
  });

  it('sends agent.changed when an agent connects, takes work, and disconnects', async () => {
    const feed = await subscribe();
    await feed.nextOf('hello');
    const token = await h.addAgent('w1');
    const sidecar = await RawClient.connect(h.wsUrl, 'w1', token);
    const agentChange = async (pred: (a: Record<string, any>) => boolean): Promise<{ agent: Record<string, any> }> =>
      (await feed.next((m) => m.type === 'agent.changed' && pred(m.agent as Record<string, any>), 5000, 'an agent.changed')) as {
        agent: Record<string, any>;
      };

    const connected = await agentChange((a) => a.id === 'w1' && a.state === 'idle');
    expect(connected.agent).toMatchObject({ id: 'w1', state: 'idle', max_concurrency: 1, tasks: [], resources: RESOURCES });

    const t = await createTask();
    await sidecar.nextOf('task.assign');
    const assigned = await agentChange((a) => a.state === 'assigned');
    expect(assigned.agent.tasks).toEqual([{ task_id: t.id, generation: 1, status: 'assigned' }]);

    // Draining (by heartbeat) blocks it.
    sidecar.send({ type: 'heartbeat', resources: RESOURCES, tasks: [], draining: true });
    await agentChange((a) => a.state === 'blocked');

    await sidecar.close();
    const offline = await agentChange((a) => a.state === 'offline');
    expect(offline.agent.id).toBe('w1');
  });

  it('drops a subscriber that cannot keep up (close 4008), and keeps serving the others', async () => {
    const slow = await subscribe();
    await slow.nextOf('hello');
    const fast = await subscribe();
    await fast.nextOf('hello');
    // The slow one stops reading: the hub's send buffer for it grows.
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    const token = await h.addAgent('w1');
    const sidecar = await RawClient.connect(h.wsUrl, 'w1', token);
    clients.push(sidecar);
    await createTask();
    const assign = await sidecar.nextOf('task.assign');
    const taskId = (assign.task as Task).id;
    sidecar.send({ type: 'task.accept', id: 'a', task_id: taskId, generation: 1 });
    await sidecar.next((m) => m.id === 'a');
    // ~0.9 MB of progress per frame until the hub gives up on the slow subscriber.
    const chunk = 'x'.repeat(225_000);
    let seq = 0;
    await waitFor(
      async () => {
        seq++;
        sidecar.send({ type: 'task.progress', task_id: taskId, generation: 1, seq, data: [0, 1, 2, 3].map(() => ({ stream: 'stdout', data: chunk })) });
        await fast.next((m) => m.type === 'task.progress' && m.seq === seq, 5000, `progress ${seq} on the fast feed`);
        return h.hub.feed.size === 1;
      },
      'the slow subscriber to be dropped',
      20_000,
    );
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await slow.closed).code).toBe(4008);
    expect(fast.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('textFrame (the feed writes its frames itself, RFC 6455 5.2)', () => {
  it('frames payloads of each length class as ws reads them back', async () => {
    const { textFrame } = await import('../../hub/gateway/feed.js');
    // ws's own frame parser (exported at run time; @types/ws does not declare it).
    const { Receiver } = (await import('ws')) as unknown as { Receiver: unknown };
    for (const size of [0, 1, 125, 126, 65_535, 65_536, 300_000]) {
      const payload = Buffer.from('x'.repeat(size));
      const got: string[] = [];
      const receiver = new (Receiver as unknown as new (o: object) => import('node:stream').Writable & { on(e: 'message', f: (d: Buffer, bin: boolean) => void): void })({ isServer: false, maxPayload: 0 });
      receiver.on('message', (data: Buffer, isBinary: boolean) => {
        expect(isBinary).toBe(false);
        got.push(data.toString());
      });
      await new Promise<void>((resolve, reject) => receiver.write(textFrame(payload), (err) => (err ? reject(err) : resolve())));
      expect(got, `size ${size}`).toEqual([payload.toString()]);
    }
  });
});

describe('batch subprotocol (the dashboard: one message per turn of the hub loop)', () => {
  it('negotiates switchyard.v1.batch and sends a commit of many changes as one batch message, in order, each as REST shows it', async () => {
    const { FEED_BATCH_PROTOCOL, FEED_PROTOCOL } = await import('../../shared/feed.js');
    // The dashboard offers batch, then plain, then the bearer entry; a CLI offers plain only.
    const dash = new RawClient(`${h.wsUrl}/v1/feed`, {}, [FEED_BATCH_PROTOCOL, FEED_PROTOCOL, `bearer.${ADMIN_TOKEN}`]);
    const cli = new RawClient(`${h.wsUrl}/v1/feed`, {}, [FEED_PROTOCOL, `bearer.${ADMIN_TOKEN}`]);
    clients.push(dash, cli);
    await Promise.all([dash.opened, cli.opened]);
    expect(dash.ws.protocol).toBe(FEED_BATCH_PROTOCOL);
    expect(cli.ws.protocol).toBe(FEED_PROTOCOL);
    await dash.nextOf('hello');
    await cli.nextOf('hello');

    const res = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks/batch', headers: h.auth(), payload: { tasks: Array.from({ length: 50 }, (_, i) => ({ title: `b${i}` })) } });
    expect(res.statusCode).toBe(201);
    const created = (res.json() as { tasks: Task[] }).tasks;

    // The dashboard: the whole commit in one message.
    const batch = (await dash.nextOf('batch')) as { messages: Array<Record<string, any>> };
    expect(batch.messages.map((m) => m.type)).toEqual(Array(50).fill('task.changed'));
    expect(batch.messages.map((m) => m.task.id)).toEqual(created.map((t) => t.id));
    // The text the store wrote is what REST returns for the task.
    const one = await h.hub.app.inject({ method: 'GET', url: `/v1/tasks/${created[7]!.id}`, headers: h.auth() });
    expect(batch.messages[7]!.task).toEqual((one.json() as { task: Task }).task);
    expect(batch.messages[7]!.event).toMatchObject({ task_id: created[7]!.id, from: null, to: 'queued', actor: 'admin' });
    expect(dash.received.filter((m) => m.type === 'task.changed')).toHaveLength(0);

    // A CLI: the same changes one message each, in the same order.
    const singles: Array<Record<string, any>> = [];
    while (singles.length < 50) singles.push(await cli.nextOf('task.changed'));
    expect(singles).toEqual(batch.messages);
    expect(cli.received.some((m) => m.type === 'batch')).toBe(false);
  });
});
