/**
 * The server half of push, end to end over real HTTPS: a real hub (LevelDB, its REST routes, its
 * bus) sends to the fake push service (tests/fixtures/fake-push-service.ts), which checks every
 * request against RFC 8030/8291/8292 — the VAPID JWT against the hub's own public key, `aud`,
 * `exp`, `sub` — and decrypts the payload with the keys the test made as a browser would.
 * Proven here: alerts reach the subscriptions that chose them and no other; 410 prunes the
 * subscription durably; 429 (with Retry-After) and 503 are retried; other refusals are not;
 * subscriptions survive a restart of the hub on the same data folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHub, type Hub } from '../../hub/app.js';
import { loadHubConfig } from '../../hub/config.js';
import type { Alert } from '../../shared/alerts.js';
import { Agent as HttpsAgent } from 'node:https';
import { PushSender } from '../../hub/push/sender.js';
import { generateVapidKeys } from '../../hub/push/vapid.js';
import { openAgentStore } from '../../hub/store/agent-store.js';
import { pushStoreOf } from '../../hub/store/push-store.js';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import { createLogger } from '../../shared/logger.js';
import { FakePushService, type BrowserSubscription } from '../fixtures/fake-push-service.js';
import { ADMIN_TOKEN, waitFor } from '../support/hub-inproc.js';

const SUBJECT = 'mailto:oncall@example.org';
let fake: FakePushService;
let hubKey: string | null = null;
let dir: string;
let hub: Hub;

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** A hub on `dir`'s stores, as startHub opens them; it trusts the fake push service's certificate. */
async function openHub(): Promise<Hub> {
  const config = loadHubConfig({ dataDir: dir, port: 0, adminToken: ADMIN_TOKEN, logLevel: 'silent', pushSubject: SUBJECT, pushCaFile: fake.caFile }, {});
  const store = await openTaskStore(join(dir, 'tasks'), {});
  const agents = await openAgentStore(join(dir, 'agents'));
  return buildHub({ config, store, agents, adminToken: ADMIN_TOKEN, log: createLogger('hub', 'silent') });
}

async function subscribe(sub: BrowserSubscription, kinds: string[], label = ''): Promise<string> {
  const res = await hub.app.inject({ method: 'POST', url: '/v1/push/subscriptions', headers: auth, payload: { subscription: sub, kinds, label } });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { id: string }).id;
}

const list = async () => (await hub.app.inject({ method: 'GET', url: '/v1/push/subscriptions', headers: auth })).json() as { subscriptions: Array<{ id: string; endpoint_origin: string; kinds: string[]; label: string; last_sent_at: number | null; failures: number }>; stats: Record<string, number> };
const pushTest = async () => {
  const res = await hub.app.inject({ method: 'POST', url: '/v1/push/test', headers: auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { sent: number; failed: number; pruned: number };
};
const alert = (over: Partial<Alert>): Alert => ({
  id: 'al-1',
  subject: {},
  fired_at: Date.now(),
  last_fired_at: Date.now(),
  acked_at: null,
  acked_by: null,
  cleared_at: null,
  rule: 'no_agent_online',
  severity: 'critical',
  state: 'active',
  title: 'No agent online',
  message: 'No agent has been connected for 2 minutes; 5 tasks wait.',
  url: '/#/alerts',
  count: 1,
  ...over,
});

beforeAll(async () => {
  fake = await FakePushService.start(() => hubKey);
  dir = await mkdtemp(join(tmpdir(), 'sy-push-'));
  hub = await openHub();
  hubKey = (await hub.app.inject({ method: 'GET', url: '/v1/push/key', headers: auth })).json().public_key as string;
});

afterAll(async () => {
  await hub?.close();
  await fake?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('alerts to push services', () => {
  it("sends each alert, VAPID-signed and encrypted, to the subscriptions that chose it and to no other", async () => {
    const all = await subscribe(fake.subscribe('all'), [], 'laptop');
    await subscribe(fake.subscribe('crit'), ['critical'], 'phone');
    await subscribe(fake.subscribe('queue'), ['queue_growing']);

    hub.bus.emit('alert.changed', alert({ id: 'al-crit', url: '/#/tasks/01TASK' }));
    hub.bus.emit('alert.changed', alert({ id: 'al-q', rule: 'queue_growing', severity: 'warning', title: 'Queue growing', message: 'queued grew 5 checks in a row' }));
    // Not worth a notification: acknowledged, cleared, or a warning repeating.
    hub.bus.emit('alert.changed', alert({ id: 'al-ack', state: 'acknowledged' }));
    hub.bus.emit('alert.changed', alert({ id: 'al-clr', state: 'cleared' }));
    hub.bus.emit('alert.changed', alert({ id: 'al-q', rule: 'queue_growing', severity: 'warning', count: 2 }));
    // A critical alert's repeat is.
    hub.bus.emit('alert.changed', alert({ id: 'al-crit', url: '/#/tasks/01TASK', count: 3 }));
    await hub.services.push.idle();

    expect(fake.rejections).toEqual([]);
    const ids = (name: string) => fake.of(name).map((r) => `${r.payload.alert_id}${r.payload.title.includes('×') ? '+' : ''}`).sort();
    expect(ids('all')).toEqual(['al-crit', 'al-crit+', 'al-q']);
    expect(ids('crit')).toEqual(['al-crit', 'al-crit+']);
    expect(ids('queue')).toEqual(['al-q']);

    const first = fake.of('crit').find((r) => r.payload.alert_id === 'al-crit' && !r.payload.title.includes('×'))!;
    expect(first.payload).toEqual({ title: 'CRITICAL: No agent online', body: 'No agent has been connected for 2 minutes; 5 tasks wait.', url: '/#/tasks/01TASK', tag: 'alert-al-crit', alert_id: 'al-crit' });
    expect(first.claims.aud).toBe(fake.origin);
    expect(first.claims.sub).toBe(SUBJECT);
    expect(first.urgency).toBe('high');
    expect(first.ttl).toBeGreaterThan(0);
    expect(fake.of('queue')[0]!.urgency).toBe('normal');

    const view = (await list()).subscriptions.find((s) => s.id === all)!;
    expect(view).toMatchObject({ endpoint_origin: fake.origin, kinds: [], label: 'laptop', failures: 0 });
    expect(view.last_sent_at).not.toBeNull();
    // The list never shows an endpoint's full URL (a capability to push) or the keys.
    expect(JSON.stringify(await list())).not.toContain('/push/all');
  });

  it('removes a subscription whose push service answers 410, durably', async () => {
    const gone = await subscribe(fake.subscribe('gone'), []);
    fake.script('gone', { status: 410 });
    const before = (await list()).stats.pruned!;
    const out = await pushTest();
    expect(out.pruned).toBe(1);
    expect(out.failed).toBe(0);
    expect((await list()).subscriptions.map((s) => s.id)).not.toContain(gone);
    expect((await list()).stats.pruned).toBe(before + 1);
    expect(await hub.app.inject({ method: 'DELETE', url: `/v1/push/subscriptions/${gone}`, headers: auth }).then((r) => r.statusCode)).toBe(404);
  });

  it('retries 429 (waiting its Retry-After) and 503, then delivers once', async () => {
    for (const s of (await list()).subscriptions) await hub.app.inject({ method: 'DELETE', url: `/v1/push/subscriptions/${s.id}`, headers: auth });
    await subscribe(fake.subscribe('busy'), []);
    fake.script('busy', { status: 429, headers: { 'retry-after': '1' } }, { status: 503 });
    const retriedBefore = (await list()).stats.retried!;
    const out = await pushTest();
    expect(out).toEqual({ sent: 1, failed: 0, pruned: 0 });
    const tries = fake.requests.filter((r) => r.name === 'busy');
    expect(tries.map((r) => r.status)).toEqual([429, 503, 201]);
    // Retry-After: 1 was honoured (a lower bound only: a timer never fires early).
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(990);
    expect(fake.of('busy')).toHaveLength(1);
    expect(fake.of('busy')[0]!.payload.title).toBe('Switchyard test notification');
    expect((await list()).stats.retried).toBe(retriedBefore + 2);
  });

  it('does not retry a refusal that retrying cannot fix, and counts the failure', async () => {
    const bad = await subscribe(fake.subscribe('bad'), []);
    fake.script('bad', { status: 400 });
    const out = await pushTest();
    expect(out.failed).toBe(1);
    expect(fake.requests.filter((r) => r.name === 'bad').map((r) => r.status)).toEqual([400]);
    expect((await list()).subscriptions.find((s) => s.id === bad)!.failures).toBe(1);
  });

  it('the fake refuses what a real push service would: a JWT signed with a key that is not the expected one', async () => {
    const real = hubKey;
    hubKey = (await import('../../hub/push/vapid.js')).generateVapidKeys().publicKey;
    try {
      await subscribe(fake.subscribe('strict'), []);
      const out = await pushTest();
      expect(out.sent).toBe(0);
      expect(fake.rejections.some((r) => r.name === 'strict' && r.status === 403 && /k is not/.test(r.why))).toBe(true);
    } finally {
      hubKey = real;
      fake.rejections.length = 0;
    }
  });

  it('bounds its queue: when sends pile up, the oldest waiting are dropped and counted as failed', async () => {
    const agents = await openAgentStore(join(dir, 'bounded'));
    const keys = generateVapidKeys();
    const real = hubKey;
    hubKey = keys.publicKey;
    const sender = new PushSender({ store: pushStoreOf(agents), keys, subject: SUBJECT, log: createLogger('push', 'silent'), agent: new HttpsAgent({ ca: fake.cert }), concurrency: 1, maxQueued: 2 });
    try {
      const subs = ['q1', 'q2', 'q3', 'q4', 'q5'].map((name, i) => ({ id: name, ...fake.subscribe(name), kinds: [], label: '', created_at: i, last_sent_at: null, failures: 0 }));
      const outcomes = await sender.enqueue(subs, { title: 'burst', body: '', url: '/', tag: 't', alert_id: null });
      // Five queued at once with room for two: the three oldest were dropped, the newest two sent.
      expect(outcomes).toEqual(['failed', 'failed', 'failed', 'sent', 'sent']);
      expect(sender.stats()).toEqual({ sent: 2, failed: 3, pruned: 0, retried: 0 });
      expect(['q1', 'q2', 'q3', 'q4', 'q5'].map((n) => fake.of(n).length)).toEqual([0, 0, 0, 1, 1]);
    } finally {
      hubKey = real;
      await sender.close();
      await agents.close();
    }
  });

  it('keeps subscriptions and keys across a restart on the same data folder', async () => {
    const before = await list();
    await hub.close();
    hub = await openHub();
    expect((await hub.app.inject({ method: 'GET', url: '/v1/push/key', headers: auth })).json().public_key).toBe(hubKey);
    expect((await list()).subscriptions).toEqual(before.subscriptions);
    // And it still sends to them, signed with the same key (the fake checks k against it).
    hub.bus.emit('alert.changed', alert({ id: 'al-after', severity: 'warning', rule: 'agent_offline' }));
    await hub.services.push.idle();
    await waitFor(() => fake.of('busy').some((r) => r.payload.alert_id === 'al-after'), 'the alert after the restart');
    expect(fake.rejections).toEqual([]);
  });
});
