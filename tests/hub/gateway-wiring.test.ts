/**
 * The gateway wired the way hub/app.ts wires it (the plugin registered with
 * websocketPluginOptions, the agent route passing the ping interval and the upgrade's TCP socket),
 * on a real fastify server on 127.0.0.1 over a real hub's stores and scheduler: the welcome names
 * the configured ping interval, frames of one tick go out corked, and frames over the hard limit,
 * before any hello, from many connections, make one warning without a stack, not an error each.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { pino } from 'pino';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { handleAgentSocket, type Corkable } from '../../hub/gateway/agent-gateway.js';
import { ProgressTails } from '../../hub/gateway/progress-tail.js';
import { isPeerSocketError, PeerErrorLog, websocketPluginOptions } from '../../hub/gateway/socket-errors.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { helloMessage, RawClient, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

type Line = { level: number; msg: string; stack?: unknown; err?: unknown } & Record<string, unknown>;

async function wired(opts: { pingMs: number; windowMs?: number }): Promise<{ h: InprocHub; url: string; lines: Line[]; corks: () => number; tcpClosed: Array<Promise<number>> }> {
  const h = await startInprocHub({ config: { heartbeatMs: 10_000 } });
  open.push(() => h.close());
  const lines: Line[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  const app: FastifyInstance = Fastify({ loggerInstance: log }) as unknown as FastifyInstance;
  await app.register(websocket, websocketPluginOptions(log, opts.windowMs === undefined ? {} : { windowMs: opts.windowMs }));
  let corks = 0;
  /** When each agent socket's TCP connection closed on the hub's side. */
  const tcpClosed: Array<Promise<number>> = [];
  app.get('/v1/agent', { websocket: true }, (socket, req) => {
    const tcp = req.raw.socket;
    tcpClosed.push(new Promise((r) => tcp.once('close', () => r(Date.now()))));
    const counted: Corkable = {
      cork: () => {
        corks++;
        tcp.cork();
      },
      uncork: () => tcp.uncork(),
    };
    handleAgentSocket(
      socket,
      { store: h.store, agents: h.agents, registry: h.hub.registry, scheduler: h.hub.scheduler, feed: h.hub.feed, progress: new ProgressTails(), log, heartbeatMs: 10_000, pingMs: opts.pingMs, now: Date.now },
      counted,
    );
  });
  app.get('/v1/feed', { websocket: true }, (socket) => {
    void h.store.stats().then((stats) => h.hub.feed.add(socket, { type: 'hello', agents: [], stats }));
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  open.push(() => app.close());
  return { h, url: address.replace('http:', 'ws:'), lines, corks: () => corks, tcpClosed };
}

describe('the gateway as hub/app.ts wires it', () => {
  it('names the configured ping interval in welcome, and sends through the socket it was given', async () => {
    const { h, url, corks } = await wired({ pingMs: 4321 });
    const token = await h.addAgent('w1');
    const c = await RawClient.open(`${url}/v1/agent`);
    open.push(() => c.close());
    c.send(helloMessage('w1', token, { max_concurrency: 4 }));
    expect(await c.nextOf('welcome')).toEqual({ type: 'welcome', protocol: PROTOCOL_VERSION, agent_id: 'w1', heartbeat_ms: 10_000, ping_ms: 4321 });
    // Four tasks in one batch: four offers, leased in one group commit.
    const res = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks/batch', headers: h.auth(), payload: { tasks: [1, 2, 3, 4].map((i) => ({ title: `t${i}`, command: 'true' })) } });
    expect(res.statusCode).toBe(201);
    for (let i = 0; i < 4; i++) await c.nextOf('task.assign');
    expect(corks()).toBeGreaterThan(0);
  });

  it('answers an oversized message with its id; frames over the hard limit make one warning, no error, and the hub keeps serving', async () => {
    const { h, url, lines } = await wired({ pingMs: 15_000 });
    const token = await h.addAgent('w1');
    const c = await RawClient.open(`${url}/v1/agent`);
    open.push(() => c.close());
    c.send(helloMessage('w1', token));
    await c.nextOf('welcome');
    c.send(`{"type":"task.complete","id":"big-1","task_id":"T1","generation":1,"result":"${'x'.repeat(1_200_000)}"}`);
    expect(await c.nextOf('error')).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', id: 'big-1', retryable: false });

    // Five strangers, no hello, each a frame over 2 MiB, on both socket routes.
    const big = 'y'.repeat(2 * 1_048_576 + 10);
    for (const path of ['/v1/agent', '/v1/agent', '/v1/agent', '/v1/feed', '/v1/feed']) {
      const s = await RawClient.open(`${url}${path}`);
      s.send(big);
      expect((await s.closed).code).toBe(1009);
    }
    const warnings = lines.filter((l) => l.level === 40 && l.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ module: 'sockets', path: '/v1/agent' });
    expect(warnings[0]!.stack).toBeUndefined();
    expect(warnings[0]!.err).toBeUndefined();
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);

    // The first agent's connection is untouched and still answered.
    c.send({ type: 'task.accept', id: 'a-1', task_id: 'nope', generation: 1 });
    expect(await c.next((m) => m.id === 'a-1')).toMatchObject({ type: 'error', code: 'TASK_NOT_FOUND' });
  });

  it('cuts a peer that announces a frame over the hard limit and then ignores the close frame', async () => {
    const { url, tcpClosed } = await wired({ pingMs: 15_000 });
    const { hostname, port } = new URL(url);
    // A raw TCP peer: a real upgrade, then a frame header announcing 3 MiB, then nothing: it
    // keeps its side of the connection open (half-open), answering neither ws's close frame nor
    // its FIN. ws alone would hold the socket for its 30 s close timeout.
    const sock = connect({ port: Number(port), host: hostname, allowHalfOpen: true });
    sock.on('error', () => undefined);
    await new Promise((r) => sock.once('connect', r));
    sock.write(`GET /v1/agent HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    let received = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
    await waitFor(() => received.includes('\r\n\r\n'), 'the upgrade answer');
    expect(received.toString('latin1')).toMatch(/^HTTP\/1.1 101/);
    const header = Buffer.alloc(14);
    header[0] = 0x81; // FIN, text
    header[1] = 0x80 | 127; // masked, 64-bit length
    header.writeBigUInt64BE(BigInt(3 * 1024 * 1024), 2);
    const started = Date.now();
    sock.write(header);
    await waitFor(() => tcpClosed.length === 1, 'the hub to take the socket');
    const elapsed = (await tcpClosed[0]!) - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(5000);
    sock.destroy();
    // What came before the cut: ws's close frame with 1009.
    const tail = received.subarray(received.indexOf('\r\n\r\n') + 4);
    expect(tail[0]).toBe(0x88);
    expect(tail.readUInt16BE(2)).toBe(1009);
  });
});

describe('the socket error policy', () => {
  it('knows a peer error from a bug', () => {
    expect(isPeerSocketError(Object.assign(new Error('Max payload size exceeded'), { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' }))).toBe(true);
    expect(isPeerSocketError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' }))).toBe(true);
    expect(isPeerSocketError(new TypeError('cannot read properties of undefined'))).toBe(false);
  });

  it('logs once per window, then says how many it left out', () => {
    const lines: Line[] = [];
    const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
    let now = 1_000;
    const peers = new PeerErrorLog(log, { windowMs: 60_000, now: () => now });
    const err = Object.assign(new Error('Max payload size exceeded'), { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' });
    for (let i = 0; i < 100; i++) peers.report(err, { remote: '10.0.0.9' });
    expect(lines).toHaveLength(1);
    now += 60_000;
    peers.report(err, { remote: '10.0.0.9' });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ level: 40, code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', suppressed: 99 });
  });
});
