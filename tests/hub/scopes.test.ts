/**
 * Roles and tokens (docs/security.md): the one table of who may do what, walked against every
 * route the hub serves with a real token of every role; tokens added, listed, expired and revoked;
 * the admin token rotated without a restart, kept across one, and taking effect at once on REST
 * and on open feeds.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ROLES, type Role } from '../../shared/tokens.js';
import { ACTIONS } from '../../hub/service/access.js';
import { SCOPE_HOLDERS, TOOL_SCOPES } from '../../hub/mcp/scopes.js';
import { loadHubConfig } from '../../hub/config.js';
import { startHub } from '../../hub/app.js';
import { pino } from 'pino';
import { ADMIN_TOKEN, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

async function addToken(hub: InprocHub, name: string, kind: string, extra: Record<string, unknown> = {}): Promise<{ token: string; id: string }> {
  const res = await hub.hub.app.inject({ method: 'POST', url: '/v1/tokens', headers: hub.auth(), payload: { name, kind, ...extra } });
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json() as { token: string; record: { id: string } };
  return { token: body.token, id: body.record.id };
}

/** A concrete URL for a route pattern. */
const urlOf = (pattern: string) => pattern.replace(/:id\b/g, '0123456789abcdef').replace(/:[a-z_]+/g, 'x');

describe('the scope table', () => {
  it('every route is public or names an action in the table; every action is held by someone', async () => {
    h = await startInprocHub();
    const routes = h.hub.routes;
    expect(routes.length).toBeGreaterThan(40);
    for (const r of routes) {
      expect(r.public === true || (r.action !== undefined && r.action in ACTIONS), `${r.method} ${r.url}`).toBe(true);
    }
    for (const [action, roles] of Object.entries(ACTIONS)) expect(roles.length, action).toBeGreaterThan(0);
    // MCP tools: each scope maps to roles of the same table.
    for (const [tool, scope] of Object.entries(TOOL_SCOPES)) expect(SCOPE_HOLDERS[scope].every((r) => (ROLES as readonly string[]).includes(r)), tool).toBe(true);
  });

  it('no route is reachable by a role the table does not name, and each refusal names the roles that may', async () => {
    h = await startInprocHub();
    const hub = h;
    const tokens: Record<Role, string> = {
      admin: ADMIN_TOKEN,
      operator: (await addToken(hub, 'ops', 'operator')).token,
      viewer: (await addToken(hub, 'wall', 'viewer')).token,
      metrics: (await addToken(hub, 'prom', 'metrics')).token,
      agent: await hub.addAgent('w1'),
    };
    let refused = 0;
    let allowedReads = 0;
    for (const r of hub.hub.routes) {
      if (r.public || !r.action) continue;
      const may = ACTIONS[r.action] as readonly Role[];
      for (const role of ROLES) {
        const allowed = may.includes(role);
        // Writes are only sent where they must be refused: an allowed one would change the hub under the test.
        if (allowed && r.method !== 'GET') continue;
        if (r.url === '/v1/feed' && allowed) continue; // a WebSocket route: the feed tests open it
        const res = await hub.hub.app.inject({ method: r.method as 'GET', url: urlOf(r.url), headers: { authorization: `Bearer ${tokens[role]}` } });
        const what = `${role} on ${r.method} ${r.url} (${r.action})`;
        if (allowed) {
          expect([401, 403], what).not.toContain(res.statusCode);
          allowedReads++;
        } else {
          expect(res.statusCode, what).toBe(403);
          expect(res.json(), what).toMatchObject({ code: 'FORBIDDEN', details: { action: r.action, roles: [...may] } });
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(100);
    expect(allowedReads).toBeGreaterThan(30);
  });

  it('what each role may do, as the docs say: operators steer but do not manage agents, tokens or backups; viewers only read; metrics only scrape', async () => {
    const can = (role: Role) => Object.entries(ACTIONS).filter(([, roles]) => (roles as readonly Role[]).includes(role)).map(([a]) => a).sort();
    expect(can('metrics')).toEqual(['metrics.read']);
    expect(can('viewer').every((a) => a.endsWith('.read'))).toBe(true);
    expect(can('operator')).toEqual(expect.arrayContaining(['tasks.write', 'tasks.review', 'tasks.answer', 'alerts.write', 'escalations.write']));
    expect(can('operator')).not.toEqual(expect.arrayContaining(['agents.write']));
    for (const a of ['agents.write', 'tokens.write', 'tokens.read', 'backups.write', 'health.ack']) expect(can('operator'), a).not.toContain(a);
    expect(can('agent')).toEqual(['history.read', 'mcp.use', 'tasks.ask', 'tasks.claim', 'tasks.submit']);
  });
});

describe('tokens', () => {
  it('an operator retries and approves but may not register agents; a metrics token only scrapes', async () => {
    h = await startInprocHub();
    const ops = await addToken(h, 'ops', 'operator');
    const as = (t: string) => ({ authorization: `Bearer ${t}` });
    const created = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: as(ops.token), payload: { title: 'by ops', executor: 'shell', command: 'true' } });
    expect(created.statusCode).toBe(201);
    // The change is the token's, by name, in the task's history.
    const shown = await h.hub.app.inject({ method: 'GET', url: `/v1/tasks/${(created.json() as { id: string }).id}`, headers: as(ops.token) });
    expect((shown.json() as { events: Array<{ actor: string }> }).events[0]!.actor).toBe('token:ops');
    const agent = await h.hub.app.inject({ method: 'POST', url: '/v1/agents', headers: as(ops.token), payload: { id: 'sneaky' } });
    expect(agent.statusCode).toBe(403);
    expect((agent.json() as { message: string }).message).toBe('an operator token may not do agents.write: it needs a token of role admin');
    const prom = await addToken(h, 'prom', 'metrics');
    expect((await h.hub.app.inject({ method: 'GET', url: '/v1/metrics', headers: as(prom.token) })).statusCode).toBe(200);
    expect((await h.hub.app.inject({ method: 'GET', url: '/v1/tasks', headers: as(prom.token) })).statusCode).toBe(403);
  });

  it('listed with creator, expiry and last use, never the token or its hash; a name is unique among live tokens; expiry and revocation end it', async () => {
    h = await startInprocHub();
    const view = await addToken(h, 'wall', 'viewer', { expires_in_ms: 60_000 });
    const again = await h.hub.app.inject({ method: 'POST', url: '/v1/tokens', headers: h.auth(), payload: { name: 'wall', kind: 'viewer' } });
    expect(again.json()).toMatchObject({ code: 'TOKEN_EXISTS' });
    expect((await h.hub.app.inject({ method: 'POST', url: '/v1/tokens', headers: h.auth(), payload: { name: 'x', kind: 'root' } })).statusCode).toBe(400);
    expect((await h.hub.app.inject({ method: 'GET', url: '/v1/tasks', headers: { authorization: `Bearer ${view.token}` } })).statusCode).toBe(200);
    const listed = await h.hub.app.inject({ method: 'GET', url: '/v1/tokens', headers: h.auth() });
    const [row] = (listed.json() as { tokens: Array<Record<string, unknown>> }).tokens;
    expect(row).toMatchObject({ id: view.id, name: 'wall', kind: 'viewer', created_by: 'admin', status: 'active', revoked_at: null });
    expect(row!.last_used_at).toEqual(expect.any(Number));
    expect(row!.expires_at).toEqual(expect.any(Number));
    expect(listed.body).not.toContain(view.token);
    expect(listed.body).not.toContain('token_hash');
    // Revoked: refused at once (401: the hub no longer knows it), listed as revoked, by whom.
    const revoked = await h.hub.app.inject({ method: 'DELETE', url: `/v1/tokens/${view.id}`, headers: h.auth() });
    expect(revoked.json()).toMatchObject({ status: 'revoked', revoked_by: 'admin' });
    expect((await h.hub.app.inject({ method: 'GET', url: '/v1/tasks', headers: { authorization: `Bearer ${view.token}` } })).statusCode).toBe(401);
  });

  it('an expired token is refused from its expiry on', async () => {
    let clock = 1_000_000;
    h = await startInprocHub({ now: () => clock });
    const short = await addToken(h, 'short', 'viewer', { expires_in_ms: 60_000 });
    const get = () => h!.hub.app.inject({ method: 'GET', url: '/v1/tasks', headers: { authorization: `Bearer ${short.token}` } });
    expect((await get()).statusCode).toBe(200);
    clock += 60_000;
    expect((await get()).statusCode).toBe(401);
    const listed = await h.hub.app.inject({ method: 'GET', url: '/v1/tokens', headers: h.auth() });
    expect((listed.json() as { tokens: Array<{ status: string }> }).tokens[0]!.status).toBe('expired');
  });

  it('a feed opened with a token is closed the moment the token is revoked', async () => {
    h = await startInprocHub({ listen: true });
    const view = await addToken(h, 'wall', 'viewer');
    const ws = new WebSocket(`${h.wsUrl}/v1/feed`, { headers: { authorization: `Bearer ${view.token}` } });
    await new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve());
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await h.hub.app.inject({ method: 'DELETE', url: `/v1/tokens/${view.id}`, headers: h.auth() });
    expect(await closed).toBe(4011);
  });
});

describe('rotating the admin token', () => {
  it('takes effect at once on REST and on feeds; held across a restart with the old token still in the environment; a new value there takes over', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sy-rotate-'));
    const log = pino({ enabled: false });
    const start = (adminToken: string) => startHub(loadHubConfig({ dataDir: dir, port: 0, adminToken, logLevel: 'silent' }, {}), log);
    try {
      let hub = await start(ADMIN_TOKEN);
      const ws = new WebSocket(`${hub.url.replace('http', 'ws')}/v1/feed`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      await new Promise<void>((resolve) => ws.once('message', () => resolve()));
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      const res = await fetch(`${hub.url}/v1/tokens/rotate-admin`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const { token, written_to } = (await res.json()) as { token: string; written_to: string | null };
      expect(written_to).toBeNull(); // the token came from the environment
      expect(await closed).toBe(4011);
      const tasks = (t: string) => fetch(`${hub.url}/v1/tasks?limit=1`, { headers: { authorization: `Bearer ${t}` } }).then((r) => r.status);
      expect(await tasks(ADMIN_TOKEN)).toBe(401);
      expect(await tasks(token)).toBe(200);
      await hub.close();

      hub = await start(ADMIN_TOKEN); // the environment still names the old one
      expect(await tasks(ADMIN_TOKEN)).toBe(401);
      expect(await tasks(token)).toBe(200);
      await hub.close();

      const fresh = `sya_${'f'.repeat(43)}`;
      hub = await start(fresh); // the operator set a new one: it takes over
      expect(await tasks(fresh)).toBe(200);
      expect(await tasks(token)).toBe(401);
      await hub.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a hub with an admin.token file gets the new token written there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sy-rotate-'));
    try {
      const hub = await startHub(loadHubConfig({ dataDir: dir, port: 0, logLevel: 'silent' }, {}), pino({ enabled: false }));
      const old = (await readFile(join(dir, 'admin.token'), 'utf8')).trim();
      const res = await fetch(`${hub.url}/v1/tokens/rotate-admin`, { method: 'POST', headers: { authorization: `Bearer ${old}` } });
      const body = (await res.json()) as { token: string; written_to: string };
      expect(body.written_to).toBe(join(dir, 'admin.token'));
      expect((await readFile(join(dir, 'admin.token'), 'utf8')).trim()).toBe(body.token);
      await waitFor(async () => (await fetch(`${hub.url}/v1/tasks`, { headers: { authorization: `Bearer ${old}` } })).status === 401, 'the old token to be refused');
      await hub.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
