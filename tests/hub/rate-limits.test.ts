/**
 * Rate limits with real clients (docs/security.md): REST tiers per caller and per address, 429
 * with Retry-After, a longer wait for a client that keeps going, recovery after the window,
 * failed authentications and new connections per address, an agent socket's messages per
 * second, and overrides (exempt, raise) that persist across a restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startHub } from '../../hub/app.js';
import { loadHubConfig } from '../../hub/config.js';
import { ADMIN_TOKEN, RawClient, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

/** One-second windows, so recovery is seen in a test: per-minute budgets scale with the window (x60 here is per second). */
const FAST = { limitWindowMs: 1_000 };
const perSecond = (n: number) => n * 60;

describe('REST', () => {
  it('over its tier a caller gets 429 RATE_LIMITED with Retry-After; keeping on makes the wait longer; after the window it recovers', async () => {
    h = await startInprocHub({ listen: true, config: { ...FAST, limitNormalPerMin: perSecond(3), limitPenaltyMaxMs: 8_000 } });
    const create = () => fetch(`${h!.url}/v1/tasks`, { method: 'POST', headers: { ...h!.auth(), 'content-type': 'application/json' }, body: JSON.stringify({ title: 't', executor: 'shell', command: 'true' }) });
    for (let i = 0; i < 3; i++) expect((await create()).status).toBe(201);
    const over = await create();
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await over.json()) as { code: string; retryable: boolean; details: { retry_after_ms: number; budget: string } };
    expect(body).toMatchObject({ code: 'RATE_LIMITED', retryable: true, details: { budget: 'normal' } });
    const first = body.details.retry_after_ms;
    expect(first).toBeLessThanOrEqual(1_000);
    // Keeps going: each refusal in a row doubles the wait.
    const second = ((await (await create()).json()) as typeof body).details.retry_after_ms;
    const third = ((await (await create()).json()) as typeof body).details.retry_after_ms;
    expect(second).toBe(2_000);
    expect(third).toBe(4_000);
    // Reads are another tier: still answered.
    expect((await fetch(`${h.url}/v1/tasks?limit=1`, { headers: h.auth() })).status).toBe(200);
    // Nothing of the refused requests was stored.
    expect((await h.store.stats()).queued.normal).toBe(3);
    // After its wait, it is served again.
    await new Promise((r) => setTimeout(r, third + 100));
    expect((await create()).status).toBe(201);
  });

  it('an address that keeps presenting bad tokens waits, even with a good one; a WebSocket route counts new connections per address', async () => {
    h = await startInprocHub({ listen: true, config: { ...FAST, limitAuthFailuresPerMin: perSecond(2), limitConnectsPerMin: perSecond(2) } });
    const get = (token: string) => fetch(`${h!.url}/v1/tasks?limit=1`, { headers: { authorization: `Bearer ${token}` } });
    expect((await get('sya_wrong')).status).toBe(401);
    expect((await get('sya_wrong')).status).toBe(401);
    const held = await get(ADMIN_TOKEN);
    expect(held.status).toBe(429);
    expect(((await held.json()) as { message: string }).message).toMatch(/refused for a bad or missing token/);
    await waitFor(async () => (await get(ADMIN_TOKEN)).status === 200, 'the address to be let in again', 5_000);

    const open = () =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${h!.wsUrl}/v1/feed`, { headers: h!.auth() });
        ws.once('open', () => {
          ws.close();
          resolve(101);
        });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      });
    expect(await open()).toBe(101);
    expect(await open()).toBe(101);
    expect(await open()).toBe(429);
  });

  it('an exempt caller is not limited; a factor raises one caller’s budget; overrides are in GET /v1/limits and survive a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sy-limits-'));
    const start = () => startHub(loadHubConfig({ dataDir: dir, port: 0, adminToken: ADMIN_TOKEN, logLevel: 'silent', limitWindowMs: 1_000, limitNormalPerMin: perSecond(2) }, {}), pino({ enabled: false }));
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    try {
      let hub = await start();
      const put = await fetch(`${hub.url}/v1/limits/overrides/admin`, { method: 'PUT', headers: auth, body: JSON.stringify({ exempt: true, note: 'CI feeder' }) });
      expect(put.status).toBe(200);
      await hub.close();
      hub = await start();
      const view = (await (await fetch(`${hub.url}/v1/limits`, { headers: auth })).json()) as { enabled: boolean; overrides: Array<{ subject: string; exempt: boolean; note: string; set_by: string }> };
      expect(view.enabled).toBe(true);
      expect(view.overrides).toEqual([expect.objectContaining({ subject: 'admin', exempt: true, note: 'CI feeder', set_by: 'admin' })]);
      // Exempt: ten task creations in the window where two are the budget.
      const codes = [];
      for (let i = 0; i < 10; i++) codes.push((await fetch(`${hub.url}/v1/tasks`, { method: 'POST', headers: auth, body: JSON.stringify({ title: `t${i}` }) })).status);
      expect(codes.every((c) => c === 201)).toBe(true);
      // Cleared: the default applies again.
      expect(await (await fetch(`${hub.url}/v1/limits/overrides/admin`, { method: 'DELETE', headers: { authorization: auth.authorization } })).json()).toEqual({ subject: 'admin', cleared: true });
      await new Promise((r) => setTimeout(r, 1_100));
      const after = [];
      for (let i = 0; i < 4; i++) after.push((await fetch(`${hub.url}/v1/tasks`, { method: 'POST', headers: auth, body: JSON.stringify({ title: `u${i}` }) })).status);
      expect(after).toEqual([201, 201, 429, 429]);
      // A bad subject or body is refused with a clear error.
      expect((await fetch(`${hub.url}/v1/limits/overrides/root`, { method: 'PUT', headers: auth, body: '{"exempt":true}' })).status).toBe(400);
      await hub.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('agent sockets', () => {
  it('messages over an agent’s per-second budget are refused with the wait and not acted on', async () => {
    h = await startInprocHub({ listen: true, config: { limitWsPerSec: 5 } });
    const token = await h.addAgent('w1');
    const c = await RawClient.connect(h.wsUrl, 'w1', token);
    await new Promise((r) => setTimeout(r, 1_100)); // a fresh window (the hello counted in the first)
    const before = c.received.length;
    // Accepts of a task it does not hold: each is answered (an error), so every frame's fate is seen.
    for (let i = 0; i < 20; i++) c.send({ type: 'task.accept', id: `a${i}`, task_id: '01NOSUCHTASK', generation: 1 });
    const refused = (await waitFor(() => {
      const errs = c.received.slice(before).filter((m) => m.type === 'error' && m.code === 'RATE_LIMITED');
      return errs.length >= 10 ? errs : undefined;
    }, 'RATE_LIMITED errors'))!;
    expect(refused[0]).toMatchObject({ code: 'RATE_LIMITED', retryable: true, details: { budget: 'ws' } });
    // The first five were acted on (answered for what they asked), the rest refused by id.
    const answered = c.received.slice(before).filter((m) => m.type === 'error' && m.code !== 'RATE_LIMITED');
    expect(answered.map((m) => m.id)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(refused.map((m) => m.id)).toEqual(Array.from({ length: refused.length }, (_, i) => `a${i + 5}`));
    expect((refused[0]!.details as { retry_after_ms: number }).retry_after_ms).toBeGreaterThan(0);
    // The connection stays up, and is served again in the next second.
    await new Promise((r) => setTimeout(r, 1_100));
    const n = c.received.length;
    c.send({ type: 'task.accept', id: 'later', task_id: '01NOSUCHTASK', generation: 1 });
    const later = (await waitFor(() => c.received.slice(n).find((m) => m.id === 'later'), 'an answer'))!;
    expect(later.code).not.toBe('RATE_LIMITED');
    await c.close();
  });
});
