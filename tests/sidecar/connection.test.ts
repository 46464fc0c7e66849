/**
 * The sidecar's connection to the hub, against a plain ws server speaking the protocol by hand
 * (and, for a cancel, against a real hub): the silence rule follows the ping interval the hub's
 * welcome names; a connection the sidecar closes itself is not reported as lost; and a cancelled
 * run's leftover output is not sent (the hub would refuse it with STALE_GENERATION).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { pino } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { loadSidecarConfig } from '../../sidecar/config.js';
import { HubConnection } from '../../sidecar/connection.js';
import { buildExecutors } from '../../sidecar/executor-set.js';
import { Sidecar } from '../../sidecar/sidecar.js';
import { startInprocHub, type InprocHub } from '../support/hub-inproc.js';
import { tempDir, waitFor } from '../support/processes.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

/** A logger whose lines (parsed) a test can read. */
function capture(level = 'debug'): { log: pino.Logger; lines: Array<{ level: number; msg: string } & Record<string, unknown>> } {
  const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const log = pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

/** A "hub" that welcomes the first frame of each connection (with `welcome` merged in) and never pings. */
async function fakeHub(welcome: Record<string, unknown>): Promise<{ url: string; hellos: () => number; sockets: WebSocket[] }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  open.push(() => new Promise<void>((r) => server.close(() => r())));
  let hellos = 0;
  const sockets: WebSocket[] = [];
  server.on('connection', (ws) => {
    sockets.push(ws);
    ws.once('message', () => {
      hellos++;
      ws.send(JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION, agent_id: 'w1', heartbeat_ms: 10_000, ...welcome }));
    });
  });
  return { url: `ws://127.0.0.1:${(server.address() as { port: number }).port}/v1/agent`, hellos: () => hellos, sockets };
}

function connection(url: string, log: pino.Logger): HubConnection {
  const conn = new HubConnection({
    url,
    minDelayMs: 20,
    maxDelayMs: 50,
    log,
    hello: async () => ({ type: 'goodbye', reason: 'stands in for a hello' }) as never,
  });
  // The fake hub answers any first frame; what a real hello holds does not matter here.
  conn.on('message', () => undefined);
  open.push(() => conn.stop());
  return conn;
}

describe('silence', () => {
  test('a hub silent for three of the ping intervals its welcome names is treated as gone', async () => {
    const hub = await fakeHub({ ping_ms: 100 });
    const { log, lines } = capture();
    const conn = connection(hub.url, log);
    const started = Date.now();
    conn.start();
    await waitFor('a reconnect after the silence', () => hub.hellos() >= 2, 5000);
    // Three intervals of 100 ms, not the 45 s a hub without ping_ms gets.
    expect(Date.now() - started).toBeLessThan(3000);
    expect(lines.find((l) => l.msg === 'connected to hub')).toMatchObject({ silence_ms: 300 });
    expect(lines.some((l) => l.msg === 'hub went silent; reconnecting')).toBe(true);
  });

  test('a welcome without ping_ms keeps the default: three of the hub default 15 s', async () => {
    const hub = await fakeHub({});
    const { log, lines } = capture();
    const conn = connection(hub.url, log);
    conn.start();
    await waitFor('connected', () => conn.ready, 5000);
    expect(lines.find((l) => l.msg === 'connected to hub')).toMatchObject({ silence_ms: 45_000 });
    await new Promise((r) => setTimeout(r, 500));
    expect(hub.hellos()).toBe(1);
  });
});

describe('closing', () => {
  test('stopping says so and does not report a lost connection; a hub that closes is reported', async () => {
    const hub = await fakeHub({ ping_ms: 60_000 });
    const { log, lines } = capture();
    const conn = connection(hub.url, log);
    conn.start();
    await waitFor('connected', () => conn.ready, 5000);

    hub.sockets[0]!.close(1001, 'hub shutting down');
    await waitFor('reconnected', () => hub.hellos() === 2 && conn.ready, 5000);
    expect(lines.filter((l) => l.msg === 'lost the hub connection; reconnecting')).toHaveLength(1);

    await conn.stop();
    expect(lines.filter((l) => l.msg === 'lost the hub connection; reconnecting')).toHaveLength(1);
    expect(lines.find((l) => l.msg === 'closed the hub connection')).toMatchObject({ code: 1000, reason: 'sidecar stopping' });
    await new Promise((r) => setTimeout(r, 200));
    expect(hub.hellos()).toBe(2); // and it did not reconnect
  });
});

describe('cancel', () => {
  test('a cancelled run sends none of its leftover output: no STALE_GENERATION comes back', async () => {
    const h: InprocHub = await startInprocHub({ listen: true, config: { heartbeatMs: 200 } });
    open.push(() => h.close());
    const token = await h.addAgent('w1');
    const { log, lines } = capture();
    const cfg = loadSidecarConfig({ hubUrl: h.url, agentId: 'w1', token, dataDir: join(tempDir('cancel'), 'sc') }, {});
    const sidecar = new Sidecar(cfg, buildExecutors(cfg), log);
    open.push(() => sidecar.stop());
    await sidecar.start();
    await waitFor('the sidecar to connect', () => h.hub.registry.get('w1')?.ready, 10_000);

    // Output all the time: whenever the cancel lands, the progress batcher holds some.
    const res = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'chatty', command: 'while true; do echo tick; sleep 0.005; done', executor: 'shell' } });
    const id = (res.json() as { id: string }).id;
    await waitFor('output to arrive at the hub', () => (h.hub.registry.get('w1')?.leases.get(id)?.status === 'running' ? lines.some((l) => l.msg === 'task started') : false), 10_000);
    await new Promise((r) => setTimeout(r, 600));
    const cancel = await h.hub.app.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: h.auth(), payload: {} });
    expect(cancel.statusCode).toBe(200);
    await waitFor('the sidecar to let the task go', () => lines.some((l) => l.msg === 'task taken back by the hub') && sidecar.held().length === 0, 10_000);
    // Past the batcher's interval (250 ms) and a heartbeat: anything left over would be back by now.
    await new Promise((r) => setTimeout(r, 800));
    const stale = lines.filter((l) => JSON.stringify(l).includes('STALE_GENERATION'));
    expect(stale).toEqual([]);
  });
});
