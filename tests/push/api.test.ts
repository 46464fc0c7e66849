/**
 * The push routes' edges, on a real hub: who may call them, what a bad subscription gets (a clear
 * VALIDATION_FAILED, never a 5xx), that subscribing the same endpoint twice is one subscription,
 * and `switchyard notify` (the compiled CLI, as a child process; `npm run build` first) against a
 * listening hub and the fake push service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakePushService } from '../fixtures/fake-push-service.js';
import { runCli, show } from '../support/cli-run.js';
import { ADMIN_TOKEN, startInprocHub, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub;
let fake: FakePushService;
let key: string | null = null;

beforeAll(async () => {
  fake = await FakePushService.start(() => key);
  h = await startInprocHub({ listen: true, config: { pushCaFile: fake.caFile } });
  key = (await h.hub.app.inject({ method: 'GET', url: '/v1/push/key', headers: h.auth() })).json().public_key as string;
});
afterAll(async () => {
  await h?.close();
  await fake?.close();
});

const post = (payload: unknown, headers = h.auth()) => h.hub.app.inject({ method: 'POST', url: '/v1/push/subscriptions', headers, payload: payload as Record<string, unknown> });

describe('the push routes', () => {
  it('need the admin token', async () => {
    for (const [method, url] of [['GET', '/v1/push/key'], ['GET', '/v1/push/subscriptions'], ['POST', '/v1/push/test'], ['DELETE', '/v1/push/subscriptions/x']] as const) {
      const res = await h.hub.app.inject({ method, url });
      expect(res.statusCode, url).toBe(401);
      expect(res.json().code).toBe('UNAUTHORIZED');
    }
  });

  it('refuse a subscription that no push service could take, naming the field', async () => {
    const good = fake.subscribe('v');
    const cases: Array<[unknown, RegExp]> = [
      [{ subscription: { ...good, endpoint: 'http://127.0.0.1/push/v' }, kinds: [] }, /endpoint/],
      [{ subscription: { ...good, keys: { ...good.keys, p256dh: 'A'.repeat(87) } }, kinds: [] }, /p256dh/],
      [{ subscription: { ...good, keys: { ...good.keys, auth: 'short' } }, kinds: [] }, /auth/],
      [{ subscription: good, kinds: ['Not A Kind'] }, /kinds/],
      [{ subscription: good }, /kinds/],
      [{ subscription: good, kinds: [], extra: 1 }, /extra/],
    ];
    for (const [body, field] of cases) {
      const res = await post(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
      expect(res.json().message).toMatch(field);
    }
  });

  it('keep one subscription per endpoint: subscribing again updates its kinds', async () => {
    const sub = fake.subscribe('twice');
    const first = await post({ subscription: sub, kinds: [] });
    expect(first.statusCode).toBe(201);
    const again = await post({ subscription: { ...sub, expirationTime: null }, kinds: ['critical'], label: 'phone' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ id: first.json().id, created: false });
    const list = (await h.hub.app.inject({ method: 'GET', url: '/v1/push/subscriptions', headers: h.auth() })).json();
    expect(list.subscriptions.filter((s: { id: string }) => s.id === first.json().id)).toMatchObject([{ kinds: ['critical'], label: 'phone' }]);
  });

  it('switchyard notify test sends a test notification; list and remove manage the browsers', async () => {
    const env = { SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN };
    const sent = await runCli(['notify', 'test', '--hub', h.url], { env });
    expect(sent.code, show(sent)).toBe(0);
    expect(sent.stdout).toMatch(/1 delivered, 0 failed/);
    expect(fake.of('twice').map((r) => r.payload.title)).toEqual(['Switchyard test notification']);
    expect(fake.rejections).toEqual([]);

    const listed = await runCli(['notify', 'list', '--hub', h.url], { env });
    expect(listed.code, show(listed)).toBe(0);
    expect(listed.stdout).toContain(fake.origin);
    expect(listed.stdout).toMatch(/1 sent/);
    const id = /^([0-9a-f]{16})\s/m.exec(listed.stdout)![1]!;
    const removed = await runCli(['notify', 'remove', id, '--hub', h.url], { env });
    expect(removed.code, show(removed)).toBe(0);

    const none = await runCli(['notify', 'test', '--hub', h.url], { env });
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(/no browser is subscribed/);
    const help = await runCli(['notify', '--help']);
    expect(help.stdout).toMatch(/Usage: switchyard notify/);
  }, 60_000);
});
