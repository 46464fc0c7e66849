/**
 * Join tokens and the join exchange (hub/api/join.ts, hub/store/join-store.ts), and what an agent
 * may do with its own token (hub/api/agent-self.ts), through inject() on a real LevelDB hub:
 * single use, expiry, revocation, the repeatable exchange of the host that redeemed a token,
 * one durable write for agent and invitation, and agent tokens kept off every other route.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openAgentStore } from '../../hub/store/agent-store.js';
import { joinStoreOf } from '../../hub/store/join-store.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import type { Task } from '../../shared/task.js';
import { RawClient, startInprocHub, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub;
afterEach(async () => {
  await h?.close();
});

const KEY = 'k'.repeat(40);
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function invite(body: Record<string, unknown> = {}): Promise<{ token: string; id: string }> {
  const res = await h.hub.app.inject({ method: 'POST', url: '/v1/join-tokens', headers: h.auth(), payload: body });
  expect(res.statusCode, res.body).toBe(201);
  const b = res.json() as { token: string; join: { id: string } };
  return { token: b.token, id: b.join.id };
}

function exchange(token: string, name: string, key = KEY) {
  return h.hub.app.inject({ method: 'POST', url: '/v1/join', headers: bearer(token), payload: { name, exchange_key: key } });
}

describe('join tokens', () => {
  it('an invitation registers one agent, whose token connects a sidecar; the token shows once and is stored hashed', async () => {
    h = await startInprocHub({ listen: true });
    const { token, id } = await invite({ capabilities: ['python'], description: 'gpu box' });
    expect(token).toMatch(/^sy_join_/);
    const list = await h.hub.app.inject({ method: 'GET', url: '/v1/join-tokens', headers: h.auth() });
    expect(list.json()).toMatchObject({ joins: [{ id, status: 'pending', capabilities: ['python'], name: null }] });
    expect(list.body).not.toContain(token);
    expect(list.body).not.toContain('hash');

    const check = await h.hub.app.inject({ method: 'POST', url: '/v1/join/check', headers: bearer(token), payload: { names: ['a', 'b'] } });
    expect(check.json()).toMatchObject({ protocol: PROTOCOL_VERSION, taken: [], join: { id, capabilities: ['python'] } });

    const res = await exchange(token, 'new-box');
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json() as { agent: { id: string; created_by: string; description: string }; token: string; capabilities: string[] };
    expect(body.agent).toMatchObject({ id: 'new-box', created_by: `join:${id}`, description: 'gpu box' });
    expect(body.capabilities).toEqual(['python']);
    expect(res.body).not.toContain('token_hash');
    const sc = await RawClient.connect(h.wsUrl, 'new-box', body.token);
    await sc.close();

    // Used: a second exchange, even under another name, registers nothing.
    const again = await exchange(token, 'other-box', 'x'.repeat(40));
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'JOIN_TOKEN_USED', details: { agent_id: 'new-box' } });
    expect(again.json().message).toMatch(/switchyard agent invite/);
    const agents = (await h.hub.app.inject({ method: 'GET', url: '/v1/agents', headers: h.auth() })).json() as { agents: Array<{ id: string }> };
    expect(agents.agents.map((a) => a.id)).toEqual(['new-box']);
    const after = (await h.hub.app.inject({ method: 'GET', url: '/v1/join-tokens', headers: h.auth() })).json() as { joins: Array<{ status: string; agent_id: string }> };
    expect(after.joins[0]).toMatchObject({ status: 'used', agent_id: 'new-box' });
  });

  it('the host that redeemed a token may repeat its exchange: the same agent, a fresh token, the old one refused', async () => {
    h = await startInprocHub({ listen: true });
    const { token } = await invite();
    const first = (await exchange(token, 'box')).json() as { token: string };
    const second = await exchange(token, 'box');
    expect(second.statusCode).toBe(200);
    const b = second.json() as { token: string; repeat: boolean; agent: { id: string } };
    expect(b).toMatchObject({ repeat: true, agent: { id: 'box' } });
    expect(b.token).not.toBe(first.token);
    const old = await RawClient.open(`${h.wsUrl}/v1/agent`);
    old.send({ type: 'hello', protocol: PROTOCOL_VERSION, agent_id: 'box', token: first.token, capabilities: [], executors: [], max_concurrency: 1, resources: { cpu_count: 1, load_1m: 0, ram_total_mb: 1, ram_free_mb: 1, gpus: [] }, in_flight: [] });
    expect((await old.closed).code).toBe(4001);
    const sc = await RawClient.connect(h.wsUrl, 'box', b.token);
    await sc.close();
    // Another name with the right key, or the right name with another key: refused.
    expect((await exchange(token, 'box2')).json().code).toBe('JOIN_TOKEN_USED');
    expect((await exchange(token, 'box', 'y'.repeat(40))).json().code).toBe('JOIN_TOKEN_USED');
    // Once the agent is removed, the token cannot bring it back.
    await h.hub.app.inject({ method: 'DELETE', url: '/v1/agents/box', headers: h.auth() });
    const gone = await exchange(token, 'box');
    expect(gone.json()).toMatchObject({ code: 'JOIN_TOKEN_USED' });
    expect(gone.json().message).toMatch(/removed/);
  });

  it('expired, revoked, unknown and missing join tokens are refused with their codes; nothing is registered', async () => {
    h = await startInprocHub();
    // The shortest ttl the API allows, and a real wait past it.
    const { token: shortLived } = await invite({ ttl_ms: 1000 });
    const { token: revoked, id: revokedId } = await invite();
    await new Promise((r) => setTimeout(r, 1100));
    const exp = await exchange(shortLived, 'a');
    expect(exp.statusCode).toBe(401);
    expect(exp.json().code).toBe('JOIN_TOKEN_EXPIRED');
    expect(exp.json().message).toMatch(/switchyard agent invite/);

    const rev = await h.hub.app.inject({ method: 'DELETE', url: `/v1/join-tokens/${revokedId}`, headers: h.auth() });
    expect(rev.json()).toMatchObject({ join: { status: 'revoked' } });
    expect((await exchange(revoked, 'b')).json().code).toBe('JOIN_TOKEN_REVOKED');
    expect((await h.hub.app.inject({ method: 'POST', url: '/v1/join/check', headers: bearer(revoked), payload: {} })).json().code).toBe('JOIN_TOKEN_REVOKED');

    expect((await exchange(`sy_join_${'A'.repeat(43)}`, 'c')).json().code).toBe('JOIN_TOKEN_INVALID');
    expect((await exchange(h.adminToken, 'c')).json().code).toBe('JOIN_TOKEN_INVALID');
    const none = await h.hub.app.inject({ method: 'POST', url: '/v1/join', payload: { name: 'c', exchange_key: KEY } });
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('JOIN_TOKEN_INVALID');
    const agents = (await h.hub.app.inject({ method: 'GET', url: '/v1/agents', headers: h.auth() })).json() as { agents: unknown[] };
    expect(agents.agents).toEqual([]);
  });

  it('names: an invitation for a name takes only that name; a taken name is AGENT_EXISTS and spends nothing', async () => {
    h = await startInprocHub();
    await h.addAgent('taken');
    const named = await invite({ name: 'gpu-7' });
    expect((await exchange(named.token, 'gpu-8')).json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await exchange(named.token, 'gpu-7')).statusCode).toBe(201);

    const free = await invite();
    const check = await h.hub.app.inject({ method: 'POST', url: '/v1/join/check', headers: bearer(free.token), payload: { names: ['taken', 'gpu-7', 'free-one'] } });
    expect(check.json().taken).toEqual(['taken', 'gpu-7']);
    const clash = await exchange(free.token, 'taken');
    expect(clash.statusCode).toBe(409);
    expect(clash.json().code).toBe('AGENT_EXISTS');
    // Not spent: the host can pick another name.
    expect((await exchange(free.token, 'free-one')).statusCode).toBe(201);

    const forTaken = await h.hub.app.inject({ method: 'POST', url: '/v1/join-tokens', headers: h.auth(), payload: { name: 'taken' } });
    expect(forTaken.json().code).toBe('AGENT_EXISTS');
  });

  it('join-token routes need the admin token; join and agent tokens are refused there', async () => {
    h = await startInprocHub();
    const { token } = await invite();
    const agentToken = (await exchange(token, 'box')).json().token as string;
    for (const t of [token, agentToken]) {
      const res = await h.hub.app.inject({ method: 'POST', url: '/v1/join-tokens', headers: bearer(t), payload: {} });
      expect([401, 403]).toContain(res.statusCode);
    }
    expect((await h.hub.app.inject({ method: 'GET', url: '/v1/join-tokens' })).statusCode).toBe(401);
    expect((await h.hub.app.inject({ method: 'POST', url: '/v1/join-tokens', headers: h.auth(), payload: { ttl_ms: 10 } })).json().code).toBe('VALIDATION_FAILED');
  });

  it('redeeming writes the agent and the spent invitation in one batch: both survive a reopen, together', async () => {
    h = await startInprocHub();
    const { token, id } = await invite();
    await exchange(token, 'durable');
    await h.hub.close();
    const agents = await openAgentStore(join(h.dir, 'agents'));
    try {
      expect(await agents.get('durable')).toMatchObject({ created_by: `join:${id}` });
      expect(await joinStoreOf(agents).get(id)).toMatchObject({ agent_id: 'durable', used_at: expect.any(Number) });
    } finally {
      await agents.close();
    }
  });

  it('two hosts redeeming one token at once: exactly one agent is registered', async () => {
    h = await startInprocHub();
    const { token } = await invite();
    const results = await Promise.all([exchange(token, 'x1', 'a'.repeat(40)), exchange(token, 'x2', 'b'.repeat(40))]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    const agents = (await h.hub.app.inject({ method: 'GET', url: '/v1/agents', headers: h.auth() })).json() as { agents: unknown[] };
    expect(agents.agents).toHaveLength(1);
  });
});

describe('an agent with its own token', () => {
  it('sees itself, runs the smoke task delegated to it, reads only its own tasks, and deregisters', async () => {
    h = await startInprocHub({ listen: true });
    const { token } = await invite();
    const agentToken = (await exchange(token, 'me')).json().token as string;
    const otherToken = await h.addAgent('other');
    const sc = await RawClient.connect(h.wsUrl, 'me', agentToken);

    const me = await h.hub.app.inject({ method: 'GET', url: '/v1/self', headers: bearer(agentToken) });
    expect(me.json()).toMatchObject({ id: 'me', state: 'idle' });
    expect(me.body).not.toContain('token_hash');

    const smoke = await h.hub.app.inject({ method: 'POST', url: '/v1/self/smoke', headers: bearer(agentToken) });
    expect(smoke.statusCode).toBe(201);
    const task = smoke.json() as Task;
    expect(task).toMatchObject({ agent: 'me', executor: 'shell', max_attempts: 1, created_by: 'agent:me' });
    const assign = await sc.nextOf('task.assign');
    expect((assign.task as Task).id).toBe(task.id);

    const seen = await h.hub.app.inject({ method: 'GET', url: `/v1/self/tasks/${task.id}`, headers: bearer(agentToken) });
    expect(seen.json()).toMatchObject({ task: { id: task.id, status: 'assigned' } });
    // Another agent's token does not see it, nor cancel it.
    expect((await h.hub.app.inject({ method: 'GET', url: `/v1/self/tasks/${task.id}`, headers: bearer(otherToken) })).statusCode).toBe(404);
    // Agent tokens stay off the admin routes, and cannot queue their own commands.
    expect((await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: bearer(agentToken), payload: { title: 'x', command: 'id' } })).statusCode).toBe(403);
    expect((await h.hub.app.inject({ method: 'POST', url: '/v1/self/smoke', headers: bearer(agentToken), payload: { command: 'rm -rf /' } })).json()).toMatchObject({ command: expect.stringContaining('smoke test') });
    const cancelled = await h.hub.app.inject({ method: 'POST', url: `/v1/self/tasks/${task.id}/cancel`, headers: bearer(agentToken) });
    expect(cancelled.json()).toMatchObject({ status: 'cancelled' });

    const del = await h.hub.app.inject({ method: 'DELETE', url: '/v1/self', headers: bearer(agentToken) });
    expect(del.statusCode).toBe(204);
    expect((await sc.closed).code).toBe(4010);
    expect((await h.hub.app.inject({ method: 'GET', url: '/v1/self', headers: bearer(agentToken) })).statusCode).toBe(401);
    expect((await h.hub.app.inject({ method: 'GET', url: '/v1/agents/me', headers: h.auth() })).statusCode).toBe(404);
    expect((await h.hub.app.inject({ method: 'GET', url: '/v1/self' })).statusCode).toBe(401);
  });
});
