/**
 * Violations with real sockets (docs/security.md): a sidecar that sends refused frames is
 * disconnected (4003, told how long to stay away), kept out for that time — its address refused
 * before the upgrade, the agent at its hello (4012) — let back after it, and the next wait is
 * longer unless it stayed clean; counts are in the agent view. A real sidecar's connection waits
 * as long as it was told.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { pino } from 'pino';
import { HubConnection } from '../../sidecar/connection.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { RawClient, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub | null = null;
const open: RawClient[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
  await h?.close();
  h = null;
});

const CONFIG = { violationMax: 3, violationBansMs: [800, 1_600, 5_000], violationCleanMs: 1_000, violationWindowMs: 10_000 };

/** The status of an upgrade to /v1/agent: 101, or the refusal's status. */
function upgrade(url: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url}/v1/agent`);
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => undefined);
  });
}

describe('violations', () => {
  it('too many refused frames: closed with the wait, kept out for it, let back after; the agent view counts it; the next wait is longer', async () => {
    h = await startInprocHub({ listen: true, config: CONFIG });
    const token = await h.addAgent('noisy');
    const c = await RawClient.connect(h.wsUrl, 'noisy', token);
    for (let i = 0; i < 3; i++) c.ws.send('{not json');
    const closed = await c.closed;
    expect(closed.code).toBe(4003);
    expect(closed.reason).toMatch(/too many refused frames: wait 1 s/);
    const told = c.received.find((m) => m.code === 'TOO_MANY_VIOLATIONS');
    expect(told).toMatchObject({ type: 'error', retryable: true, details: { retry_after_ms: 800 } });

    // Kept out: the address is refused before the upgrade, with Retry-After.
    expect(await upgrade(h.wsUrl)).toBe(429);
    const view = await h.hub.app.inject({ method: 'GET', url: '/v1/agents/noisy', headers: h.auth() });
    expect(view.json()).toMatchObject({ violations: { disconnects_last_hour: 1, recent: 0, banned_until: expect.any(Number), last_reason: 'PROTOCOL_INVALID_JSON' } });

    // After the wait it is let back; a second round waits twice as long.
    await new Promise((r) => setTimeout(r, 850));
    const again = await RawClient.connect(h.wsUrl, 'noisy', token);
    open.push(again);
    for (let i = 0; i < 3; i++) again.send({ type: 'no.such.type' });
    expect((await again.closed).code).toBe(4003);
    expect(again.received.find((m) => m.code === 'TOO_MANY_VIOLATIONS')).toMatchObject({ details: { retry_after_ms: 1_600 } });
  });

  it('the agent itself is kept out at its hello, from any address; its level decays after a clean stretch', async () => {
    h = await startInprocHub({ listen: true, config: CONFIG });
    const token = await h.addAgent('noisy');
    // Count against the agent only (as if it came from elsewhere), twice: level 2.
    h.hub.edge.violations.record(['agent:noisy', 'agent:noisy', 'agent:noisy'], 'test');
    expect(h.hub.edge.violations.bannedFor('agent:noisy')).toBeGreaterThan(0);
    const ws = new WebSocket(`${h.wsUrl}/v1/agent`);
    await new Promise((r) => ws.once('open', r));
    const frames: Array<Record<string, unknown>> = [];
    ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Record<string, unknown>));
    const code = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, agent_id: 'noisy', token, capabilities: [], executors: [{ name: 'shell', available: true, models: [] }], max_concurrency: 1, in_flight: [], resources: { cpu_count: 1, load_1m: 0, ram_total_mb: 1, ram_free_mb: 1, gpus: [] } }));
    expect(await code).toBe(4012);
    expect(frames.find((f) => f.type === 'error')).toMatchObject({ code: 'TOO_MANY_VIOLATIONS' });
    expect(h.hub.registry.get('noisy')?.conn ?? null).toBeNull();
    // Clean for the wait and a clean stretch: back to the first, shortest wait.
    await new Promise((r) => setTimeout(r, 800 + 1_000 + 50));
    expect(h.hub.edge.violations.levelOf('agent:noisy')).toBe(0);
  });

  it('a real sidecar connection told to stay away does not reconnect before then', async () => {
    h = await startInprocHub({ listen: true, config: CONFIG });
    const token = await h.addAgent('w1');
    h.hub.edge.violations.record(['address:127.0.0.1', 'address:127.0.0.1', 'address:127.0.0.1'], 'test'); // out 800 ms
    const attempts: number[] = [];
    const hub = h;
    const conn = new HubConnection({
      url: `${hub.wsUrl}/v1/agent`,
      hello: async () => {
        attempts.push(Date.now());
        return { type: 'hello', protocol: PROTOCOL_VERSION, agent_id: 'w1', token, capabilities: [], executors: [{ name: 'shell', available: true, models: [] }], max_concurrency: 1, in_flight: [], resources: { cpu_count: 1, load_1m: 0, ram_total_mb: 1, ram_free_mb: 1, gpus: [] } };
      },
      log: pino({ enabled: false }),
      minDelayMs: 20,
      maxDelayMs: 40,
    });
    const started = Date.now();
    const ready = new Promise<void>((r) => conn.once('ready', () => r()));
    conn.start();
    await ready;
    // Refused at the upgrade with Retry-After 1 s: it waited, rather than retrying every 20-40 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(attempts).toHaveLength(1); // the hello went out once: on the connection that was let in
    await conn.stop();
  });
});
