/**
 * Regressions found in review, each reproduced first: an auth bypass through an encoded path,
 * slot accounting across a disconnect, refusals that outlived a reconnect, a store operation left
 * unanswered after a disk failure, and a sidecar bouncing offers while a cancelled task stops.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import WebSocket from 'ws';
import { pino } from 'pino';
import { AgentRegistry } from '../../hub/agents/registry.js';
import { Scheduler } from '../../hub/scheduler/scheduler.js';
import { GroupCommit } from '../../hub/store/group-commit.js';
import type { Kv } from '../../hub/store/kv.js';
import type { KvTaskStore } from '../../hub/store/kv-task-store.js';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import { loadSidecarConfig } from '../../sidecar/config.js';
import { buildExecutors } from '../../sidecar/executor-set.js';
import { Sidecar } from '../../sidecar/sidecar.js';
import type { Task } from '../../shared/task.js';
import { startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';
import { tempDir } from '../support/processes.js';

const silent = pino({ enabled: false });
let h: InprocHub | null = null;
let store: KvTaskStore | null = null;
const sidecars: Sidecar[] = [];
afterEach(async () => {
  await Promise.all(sidecars.splice(0).map((s) => s.stop()));
  await h?.close();
  h = null;
  await store?.close();
  store = null;
});

describe('auth on the route, not the raw URL', () => {
  test('a percent-encoded /v1 path still needs the admin token (REST and feed)', async () => {
    h = await startInprocHub({ listen: true });
    for (const [method, url] of [['GET', '/%761/tasks'], ['GET', '/%761/agents'], ['POST', '/%761/tasks'], ['DELETE', '/%761/agents/x']] as const) {
      const res = await fetch(`${h.url}${url}`, { method, headers: { 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{"title":"x"}' } : {}) });
      expect(res.status, `${method} ${url}`).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    }
    const ws = new WebSocket(`${h.wsUrl}/%761/feed`);
    const outcome = await new Promise<string>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
      ws.on('open', () => resolve('open'));
      ws.on('error', () => resolve('error'));
    });
    ws.terminate();
    expect(outcome).toBe('http 401');
    expect((await h.store.stats()).byStatus.queued).toBe(0);
  });
});

describe('scheduler slot accounting', () => {
  test('a disconnect during a lease request does not free a slot twice', async () => {
    store = await openTaskStore(join(tempDir('slots'), 'tasks'), { autoSweep: false });
    const registry = new AgentRegistry();
    const scheduler = new Scheduler(store, registry, silent);
    scheduler.subscribe();
    for (let i = 0; i < 5; i++) await store.create({ title: `t${i}`, command: 'true', executor: 'shell' }, 'admin');
    const offer = { capabilities: [], repos: null, executors: [{ name: 'shell' as const, available: true, models: [] }], maxConcurrency: 1, resources: null };
    const conn = { send: () => undefined, close: () => undefined };
    const { agent } = registry.connect('w1', conn, offer, Date.now());
    registry.markReady(agent);
    const fill = scheduler.fill(agent);
    registry.disconnect('w1', conn);
    await fill;
    expect(agent.reserved).toBe(0);
    const again = registry.connect('w1', conn, offer, Date.now());
    registry.markReady(again.agent);
    await scheduler.fill(agent);
    expect(agent.reserved).toBe(0);
    expect(agent.leases.size).toBeLessThanOrEqual(1);
  });

  test('an offer that timed out while the agent was away is offered again after it reconnects', async () => {
    let now = Date.now();
    store = await openTaskStore(join(tempDir('refuse'), 'tasks'), { autoSweep: false, now: () => now });
    const registry = new AgentRegistry();
    const scheduler = new Scheduler(store, registry, silent);
    scheduler.subscribe();
    const offer = { capabilities: [], repos: null, executors: [{ name: 'shell' as const, available: true, models: [] }], maxConcurrency: 1, resources: null };
    const first = { send: () => undefined, close: () => undefined };
    const { agent } = registry.connect('w1', first, offer, now);
    registry.markReady(agent);
    const { task } = await store.create({ title: 't', command: 'true', executor: 'shell' }, 'admin');
    await waitFor(async () => (await store!.get(task.id))?.status === 'assigned', 'the offer');
    registry.disconnect('w1', first);
    now += 61_000;
    await store.sweep(); // the offer lapses while the agent is away: a refusal is recorded
    const sent: string[] = [];
    registry.connect('w1', { send: (m) => void sent.push(m.type), close: () => undefined }, offer, now);
    scheduler.forgetRefusals('w1'); // what the gateway does on every hello
    registry.markReady(agent);
    await scheduler.fill(agent);
    expect(sent).toContain('task.assign');
    expect((await store.get(task.id))?.status).toBe('assigned');
  });
});

describe('group commit after a failed write', () => {
  test('an operation being prepared when the batch fails is answered with STORE_DEGRADED', async () => {
    const kv = {
      get: async () => undefined,
      write: () => new Promise<void>((_, reject) => setTimeout(() => reject(new Error('EIO')), 20)),
    } as unknown as Kv;
    const gc = new GroupCommit(kv, { maxGroupOps: 4000 });
    const p1 = gc.submit(async (tx) => tx.put('t!a', '1'));
    await new Promise((r) => setTimeout(r, 1));
    const p2 = gc.submit(async (tx) => {
      await new Promise((r) => setTimeout(r, 60));
      tx.put('t!b', '2');
    });
    const p3 = gc.submit(async (tx) => tx.put('t!c', '3'));
    const settle = (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code?: string }) => e.code);
    expect(await Promise.all([settle(p1), settle(p2), settle(p3)])).toEqual(['STORE_DEGRADED', 'STORE_DEGRADED', 'STORE_DEGRADED']);
  });
});

describe('sidecar and a cancelled task that takes time to stop', () => {
  test('the next task is not bounced between offer and BUSY while the cancelled one stops', async () => {
    h = await startInprocHub({ listen: true });
    const token = await h.addAgent('w1');
    const cfg = loadSidecarConfig({ hubUrl: h.url, agentId: 'w1', token, dataDir: join(tempDir('sc'), 'sc'), maxConcurrency: 1 }, {});
    const sc = new Sidecar(cfg, buildExecutors(cfg), silent);
    sidecars.push(sc);
    await sc.start();
    const post = async (body: Record<string, unknown>) =>
      (await h!.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h!.auth(), payload: body })).json() as Task;
    // A command that needs 0.3 s to stop after SIGTERM.
    const a = await post({ title: 'A', executor: 'shell', command: 'trap "sleep 0.3; exit 1" TERM; sleep 30 & wait' });
    await waitFor(async () => (await h!.store.get(a.id))?.status === 'running', 'A running');
    const b = await post({ title: 'B', executor: 'shell', command: 'echo b' });
    await h.hub.app.inject({ method: 'POST', url: `/v1/tasks/${a.id}/cancel`, headers: h.auth(), payload: {} });
    await waitFor(async () => (await h!.store.get(b.id))?.status === 'completed', 'B completed', 15_000);
    const events = (await h.store.events({ taskId: b.id, limit: 1000 })).items;
    // created, assigned, (at most one BUSY release and re-offer), running, completed
    expect(events.filter((e) => e.to === 'assigned').length).toBeLessThanOrEqual(2);
  });
});

describe('frame ids and long agent names', () => {
  test('an agent whose id is the longest allowed (64 characters) still gets its task accepted and done', async () => {
    h = await startInprocHub({ listen: true });
    // Frame ids were once built from the agent id and passed the protocol's 64 characters here.
    const agentId = `a${'x'.repeat(62)}z`;
    expect(agentId.length).toBe(64);
    const token = await h.addAgent(agentId);
    const cfg = loadSidecarConfig({ hubUrl: h.url, agentId, token, dataDir: join(tempDir('sc'), 'sc'), maxConcurrency: 1 }, {});
    const sc = new Sidecar(cfg, buildExecutors(cfg), silent);
    sidecars.push(sc);
    await sc.start();
    const task = (await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'long name', executor: 'shell', command: 'echo ok' } })).json() as Task;
    await waitFor(async () => (await h!.store.get(task.id))?.status === 'completed', 'task completed', 15_000);
    const events = (await h.store.events({ taskId: task.id, limit: 100 })).items;
    expect(events.find((e) => e.to === 'running')?.actor).toContain(agentId);
  });
});
