/**
 * The browser half of push, in real headless Chromium on the hub's real dashboard: Chromium cannot
 * subscribe offline (its PushManager needs Google's push service), so the push message is
 * delivered to the service worker through the DevTools protocol (`ServiceWorker.deliverPushMessage`),
 * exactly as the browser delivers a decrypted message, and the notification the worker shows is
 * read back with `registration.getNotifications()`. The payloads are the hub's own
 * (hub/push/notification.ts).
 *
 * A click: CDP cannot click a notification, and a script-made NotificationEvent carries no user
 * activation (so the browser refuses focus() and openWindow() for it). What is tested is the part
 * a synthetic click can prove: the notification closes, and the open dashboard window is sent to
 * the alert's page (the worker's message, followed by ui/push.js). openWindow with no window open
 * is left to the browser.
 */
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertPayload } from '../../hub/push/notification.js';
import { startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** How long a wait for the browser may take: a service worker woken for a push on a loaded 2-core box can take over 5 s. */
const WAKE_MS = 20_000;

let h: InprocHub;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let cdp: CDPSession;
let registrationId: string;
// Inside page.evaluate and worker.evaluate the browser's globals are reached as `globalThis as any`: the project compiles without the DOM library.


interface Shown {
  title: string;
  body: string;
  tag: string;
  data: { url: string; alert_id: string | null };
}

const shown = (): Promise<Shown[]> =>
  page.evaluate(async () => {
    const reg = await (globalThis as any).navigator.serviceWorker.ready;
    return ((await reg.getNotifications()) as any[]).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })) as Shown[];
  });

async function deliver(data: string): Promise<void> {
  await cdp.send('ServiceWorker.deliverPushMessage', { origin: h.url, registrationId, data });
}

/** Deliveries of a message the worker has not shown yet, at most, and the wait after each (within the test's 60 s). */
const DELIVERIES = 3;
const DELIVERY_WAIT_MS = 15_000;

/**
 * Delivers each message and waits until the worker has shown them all. On a loaded 2-core box a
 * message that DevTools hands over while the worker is being started again can be lost (met in
 * CI: one of two back-to-back messages never came, in 20 s), so a message not shown within a
 * wait is delivered again, up to DELIVERIES times; each of these messages has a tag, so a second
 * delivery replaces its notification instead of stacking another. A message the worker never
 * shows still fails the test.
 */
async function deliverAll(messages: Array<{ data: string; isShown: (notes: Shown[]) => boolean }>, what: string): Promise<Shown[]> {
  let notes: Shown[] = [];
  const allShown = async (): Promise<Shown[] | null> => {
    notes = await shown();
    return messages.every((m) => m.isShown(notes)) ? notes : null;
  };
  // Every message is delivered once; a later round delivers only those not shown yet.
  let pending = messages;
  for (let attempt = 1; attempt <= DELIVERIES; attempt++) {
    for (const m of pending) await deliver(m.data);
    const all = await waitFor(allShown, what, DELIVERY_WAIT_MS).catch(() => null);
    if (all) return all;
    pending = messages.filter((m) => !m.isShown(notes));
  }
  throw new Error(`the worker did not show ${what} after ${DELIVERIES} deliveries`);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
  h = await startInprocHub({ listen: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  context = await browser.newContext();
  await context.grantPermissions(['notifications'], { origin: h.url });
  page = await context.newPage();
  cdp = await context.newCDPSession(page);
  const registrations = new Map<string, string>();
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
    for (const r of e.registrations) if (!r.isDeleted) registrations.set(r.scopeURL, r.registrationId);
  });
  await cdp.send('ServiceWorker.enable');
  await page.goto(`${h.url}/`);
  await page.evaluate(async () => {
    const sw = (globalThis as any).navigator.serviceWorker;
    await sw.register('/sw.js', { scope: '/' });
    await sw.ready;
  });
  registrationId = (await waitFor(() => registrations.get(`${h.url}/`), 'the service worker registration', WAKE_MS))!;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('the service worker', () => {
  it("shows an alert's push message as a notification with its title, body, tag and page", async () => {
    const payload = alertPayload({ id: 'al-7', rule: 'task_unplaceable', severity: 'critical', state: 'active', title: 'Task cannot be placed', message: 'no connected agent has executor claude', url: '/#/tasks/01TASK', count: 1 });
    const notes = await deliverAll([{ data: JSON.stringify(payload), isShown: (all) => all.some((n) => n.tag === 'alert-al-7') }], 'the notification');
    expect(notes).toEqual([{ title: 'CRITICAL: Task cannot be placed', body: 'no connected agent has executor claude', tag: 'alert-al-7', data: { url: '/#/tasks/01TASK', alert_id: 'al-7' } }]);
  });

  it("replaces an alert's notification on a repeat (one tag per alert) instead of stacking another", async () => {
    const repeat = alertPayload({ id: 'al-7', rule: 'task_unplaceable', severity: 'critical', state: 'active', title: 'Task cannot be placed', message: 'still waiting', url: '/#/tasks/01TASK', count: 2 });
    await deliverAll([{ data: JSON.stringify(repeat), isShown: (all) => all.some((n) => n.body === 'still waiting') }], 'the repeat');
    expect((await shown()).filter((n) => n.tag === 'alert-al-7').map((n) => n.title)).toEqual(['CRITICAL: Task cannot be placed (×2)']);
  });

  it('never points a notification at another site, and still shows a message that is not JSON', async () => {
    const notes = await deliverAll(
      [
        { data: JSON.stringify({ title: 'phish', body: 'b', url: 'https://evil.example/login', tag: 'evil', alert_id: 'x' }), isShown: (all) => all.some((n) => n.tag === 'evil') },
        { data: 'plain words', isShown: (all) => all.some((n) => n.tag === 'switchyard') },
      ],
      'both notifications',
    );
    expect(notes).toHaveLength(3);
    expect(notes.find((n) => n.tag === 'evil')!.data.url).toBe('/');
    expect(notes.find((n) => n.tag === 'switchyard')).toMatchObject({ title: 'Switchyard', body: 'plain words', data: { url: '/' } });
  });

  it("ui/push.js reports this browser's state through the dashboard's api helper (Chromium cannot subscribe offline)", async () => {
    // A string, not a function: vitest rewrites import() in the test's own code.
    const state = (await page.evaluate(`(async () => {
      const push = await import('/ui/push.js');
      const api = async (path, init = {}) => {
        const res = await fetch(path, { ...init, headers: { ...init.headers, authorization: 'Bearer ' + ${JSON.stringify(h.adminToken)} } });
        return res.json();
      };
      return { exports: Object.keys(push).sort(), state: await push.pushState(api), unsubscribed: await push.unsubscribe(api) };
    })()`)) as { exports: string[]; state: unknown; unsubscribed: unknown };
    expect(state.exports).toEqual(['pushState', 'subscribe', 'unsubscribe']);
    expect(state.state).toEqual({ supported: true, permission: 'granted', subscribed: false, id: null, kinds: [] });
    expect(state.unsubscribed).toEqual({ unsubscribed: false });
  });

  it('on a click, closes the notification and sends the open dashboard window to its page', async () => {
    // The dashboard imports ui/push.js, which follows the worker's "go to this page".
    await page.addScriptTag({ type: 'module', content: "import '/ui/push.js'; window.pushLoaded = true;" });
    await page.waitForFunction(() => (globalThis as { pushLoaded?: boolean }).pushLoaded === true);
    const worker = (await waitFor(() => context.serviceWorkers()[0], 'the worker handle'))!;
    await worker.evaluate(async () => {
      const g = globalThis as any;
      const [n] = await g.registration.getNotifications({ tag: 'alert-al-7' });
      g.dispatchEvent(new g.NotificationEvent('notificationclick', { notification: n }));
    });
    await page.waitForURL(`${h.url}/#/tasks/01TASK`);
    await waitFor(async () => !(await shown()).some((n) => n.tag === 'alert-al-7'), 'the clicked notification closed', WAKE_MS);
    expect((await shown()).map((n) => n.tag).sort()).toEqual(['evil', 'switchyard']);
  });
});
