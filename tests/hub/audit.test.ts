/**
 * The audit log (docs/security.md, "Audit"): every change a person or a token made, with the
 * token's name and kind as its actor — task changes from the task events, the hub's other changes
 * from its audit entries (written in the same batch as an agent, token or limit change) — filtered
 * by actor, action and time.
 */
import { afterEach, expect, it } from 'vitest';
import type { AuditEntry } from '../../shared/audit.js';
import { startInprocHub, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

it('records who did what, filters by actor, action and time, and is not for viewers', async () => {
  h = await startInprocHub();
  const hub = h;
  const call = async (method: string, url: string, payload?: unknown, token?: string) => {
    const res = await hub.hub.app.inject({ method: method as 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : hub.auth(), ...(payload !== undefined ? { payload: payload as object } : {}) });
    return { status: res.statusCode, body: res.body ? res.json() : undefined };
  };
  const start = Date.now();
  const ops = (await call('POST', '/v1/tokens', { name: 'ci', kind: 'operator' })).body as { token: string; record: { id: string } };
  const wall = (await call('POST', '/v1/tokens', { name: 'wall', kind: 'viewer' })).body as { token: string; record: { id: string } };
  const task = (await call('POST', '/v1/tasks', { title: 'by ci', executor: 'shell', command: 'true' }, ops.token)).body as { id: string };
  await call('POST', `/v1/tasks/${task.id}/cancel`, {}, ops.token);
  await call('POST', '/v1/agents', { id: 'gpu-1' });
  await call('PATCH', '/v1/agents/gpu-1', { priority: 4 });
  await call('PUT', '/v1/limits/overrides/agent:gpu-1', { factor: 3, note: 'big box' });
  await call('DELETE', `/v1/tokens/${wall.record.id}`);
  await call('POST', '/v1/join-tokens', { name: 'new-host' });

  const all = (await call('GET', `/v1/audit?since=${start}`)).body as { entries: AuditEntry[]; next_since: number | null; truncated: boolean };
  const seen = all.entries.map((e) => [e.actor, e.actor_kind, e.action, e.subject]);
  // Oldest first (changes within one millisecond may come in either order).
  expect(all.entries.every((e, i) => i === 0 || all.entries[i - 1]!.at <= e.at)).toBe(true);
  expect(seen).toHaveLength(9);
  expect(seen).toEqual(expect.arrayContaining([
    ['admin', 'admin', 'token.added', ops.record.id],
    ['admin', 'admin', 'token.added', wall.record.id],
    ['token:ci', 'operator', 'task.created', task.id],
    ['token:ci', 'operator', 'task.cancelled', task.id],
    ['admin', 'admin', 'agent.registered', 'gpu-1'],
    ['admin', 'admin', 'agent.changed', 'gpu-1'],
    ['admin', 'admin', 'limits.set', 'agent:gpu-1'],
    ['admin', 'admin', 'token.revoked', wall.record.id],
    ['admin', 'admin', 'join_token.added', ''],
  ]));
  expect(all.entries.find((e) => e.action === 'limits.set')!.detail).toBe('factor 3: big box');
  expect(all).toMatchObject({ next_since: null, truncated: false });

  // Filters: one actor, a prefix of actions, a time window, a page.
  const byCi = (await call('GET', `/v1/audit?since=${start}&actor=token:ci`)).body as { entries: AuditEntry[] };
  expect(byCi.entries.map((e) => e.action)).toEqual(['task.created', 'task.cancelled']);
  const tokens = (await call('GET', `/v1/audit?since=${start}&action=token.`)).body as { entries: AuditEntry[] };
  expect(tokens.entries.map((e) => e.action).sort()).toEqual(['token.added', 'token.added', 'token.revoked']);
  expect(((await call('GET', `/v1/audit?since=${start}&until=${start}`)).body as { entries: AuditEntry[] }).entries).toEqual([]);
  const page = (await call('GET', `/v1/audit?since=${start}&limit=2`)).body as { entries: AuditEntry[]; next_since: number };
  expect(page.entries).toHaveLength(2);
  expect(page.next_since).toBe(page.entries[1]!.at + 1);
  // The operator may read it; a viewer may not.
  expect((await call('GET', '/v1/audit', undefined, ops.token)).status).toBe(200);
  const viewer = (await call('POST', '/v1/tokens', { name: 'wall2', kind: 'viewer' })).body as { token: string };
  expect((await call('GET', '/v1/audit', undefined, viewer.token)).body).toMatchObject({ code: 'FORBIDDEN' });
  expect((await call('GET', '/v1/audit?limit=0')).status).toBe(400);
});
