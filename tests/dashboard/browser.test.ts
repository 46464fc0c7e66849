/**
 * The dashboard in real Chromium against a real hub process and a real sidecar process (shell
 * executor): sign-in, agents, live task states, search, streaming output, dead letter retried
 * from the page, review approved from the page; a real alert arriving live and acknowledged from the
 * page; the overview's charts, health and alerts; the Notifications section's state; a screenshot
 * and an axe-core scan of each view.
 * One browser and one hub for the whole file (CI has two cores).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Alert, MetricsHistory } from '../../shared/alerts.js';
import type { Task } from '../../shared/task.js';
import { ADMIN, api, ensureBuilt, freePort, registerAgent, startHubProc, startSidecarProc, tempDir, waitFor, type Proc } from '../support/processes.js';
import { launchChromium, screenshot, seriousViolations, signIn } from './support.js';
import { RawClient } from '../support/hub-inproc.js';

// Browser globals, for the functions that playwright runs in the page (the project's lib has no DOM).
declare const sessionStorage: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const location: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any

let browser: Browser;
let context: BrowserContext;
let page: Page;
let url: string;
let dir: string;
let port: number;
let hubProc: Proc;
const procs: Proc[] = [];
// Alert rules checked every 200 ms, so a dead-lettered task raises dead_letter_growth at once.
const HUB_ENV = { SWITCHYARD_HEARTBEAT_MS: '300', SWITCHYARD_ALERT_CHECK_MS: '200' };

beforeAll(async () => {
  ensureBuilt();
  dir = tempDir('dashboard');
  port = await freePort();
  const hub = await startHubProc(join(dir, 'hub'), port, HUB_ENV);
  hubProc = hub.proc;
  procs.push(hub.proc);
  url = hub.url;
  const token = await registerAgent(url, 'gpu-box-1');
  const sc = startSidecarProc(url, 'gpu-box-1', token, join(dir, 'sc'), { SWITCHYARD_RECONNECT_MAX_MS: '1000' });
  procs.push(sc);
  await sc.waitForLog('connected to hub');
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop()));
});

const createTask = async (spec: Record<string, unknown>): Promise<Task> => {
  const res = await api<Task>(url, 'POST', '/v1/tasks', spec);
  expect(res.status).toBe(201);
  return res.body;
};
const statusOf = async (id: string) => (await api<{ task: Task }>(url, 'GET', `/v1/tasks/${id}`)).body.task.status;

async function checkView(view: string): Promise<void> {
  await screenshot(page, view);
  expect(await seriousViolations(page), `axe on ${view}`).toEqual([]);
}

describe('without a valid token', () => {
  test('the page asks to sign in, the feed refuses, and no task data reaches the page', async () => {
    await createTask({ title: 'secret-title-7731', executor: 'shell', command: 'true' });
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(`${url}/#/tasks`);
    await expect(p.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    await p.getByLabel('Admin token').fill('sya_wrong-token');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByText('The hub refused that token.').waitFor();
    expect(await p.evaluate(() => sessionStorage.getItem('switchyard.token'))).toBeNull();
    // The feed, asked from the page with the wrong token in its subprotocol, never opens.
    const feed = await p.evaluate(() => new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://${location.host}/v1/feed`, ['switchyard.v1', 'bearer.sya_wrong-token']);
      ws.onopen = () => resolve('open');
      ws.onclose = () => resolve('refused');
    }));
    expect(feed).toBe('refused');
    expect(await p.content()).not.toContain('secret-title-7731');
    await screenshot(p, 'sign-in');
    expect(await seriousViolations(p)).toEqual([]);
    await ctx.close();
  });
});

describe('signed in', () => {
  beforeAll(async () => {
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    page = await context.newPage();
    await signIn(page, url, ADMIN);
  });

  test('the overview shows the fleet, and a submitted task moves through its states live', async () => {
    await page.locator('[data-count="idle"]').filter({ hasText: '1' }).waitFor();
    const t = await createTask({ title: 'live-moves', executor: 'shell', command: 'sleep 0.5; echo done' });
    // Each state as the feed delivers it, without a reload.
    await page.locator(`#last-change[data-task="${t.id}"]`).waitFor();
    await page.locator('#ov-recent-body tr', { hasText: 'live-moves' }).filter({ hasText: 'running' }).first().waitFor();
    await page.locator('#ov-recent-body tr', { hasText: 'live-moves' }).filter({ hasText: 'completed' }).first().waitFor({ timeout: 15_000 });
    await checkView('overview');
  });

  test('agents appear with their state, executors and resources', async () => {
    await page.goto(`${url}/#/agents`);
    const card = page.locator('[data-agent="gpu-box-1"]');
    await card.waitFor();
    await expect(card.textContent()).resolves.toContain('shell: available');
    await card.locator('meter').first().waitFor();
    // The LLM registry's view: an Ollama host (an agent on the wire) with one model warm and one cold.
    const GB = 1024 ** 3;
    const ollama = await RawClient.connect(url.replace(/^http/, 'ws'), 'ollama-box', await registerAgent(url, 'ollama-box'), {
      executors: [{ name: 'ollama', available: true, models: ['qwen2.5-coder:7b', 'llama3.1:8b'], model_info: [
        { name: 'qwen2.5-coder:7b', family: 'qwen2', parameter_size: '7.6B', quantization: 'Q4_K_M', size_bytes: Math.round(4.4 * GB), loaded: true, vram_bytes: Math.round(4.9 * GB) },
        { name: 'llama3.1:8b', family: 'llama', parameter_size: '8.0B', quantization: 'Q4_K_M', size_bytes: Math.round(4.9 * GB), loaded: false },
      ] }],
    });
    try {
      const models = page.locator('[data-agent="ollama-box"] .models li');
      await models.first().waitFor();
      expect(await models.allTextContents()).toEqual(['qwen2.5-coder:7b (qwen2, 7.6B, Q4_K_M, 4.4 GB) — warm, 4.9 GB VRAM', 'llama3.1:8b (llama, 8.0B, Q4_K_M, 4.9 GB) — cold']);
      await checkView('agents');
    } finally {
      await ollama.close();
    }
    await page.locator('[data-agent="ollama-box"] .status-offline').waitFor();
    // An alert's link to an agent ('/#/agents/<id>'): the Agents view with that card highlighted and focused.
    await page.goto(`${url}/#/agents/gpu-box-1`);
    await page.locator('[data-agent="gpu-box-1"].selected[aria-current="true"]').waitFor();
    expect(await page.evaluate(() => document.activeElement?.dataset?.agent)).toBe('gpu-box-1');
    expect(await page.locator('nav a[aria-current="page"]').textContent()).toBe('Agents');
    // A live update redraws the cards; the focus stays on the selected one.
    const blip = await RawClient.connect(url.replace(/^http/, 'ws'), 'blip-box', await registerAgent(url, 'blip-box'));
    await page.locator('[data-agent="blip-box"]').waitFor();
    expect(await page.evaluate(() => document.activeElement?.dataset?.agent)).toBe('gpu-box-1');
    await blip.close();
    await page.goto(`${url}/#/agents/${encodeURIComponent('gone:box')}`);
    await page.locator('#agent-missing').filter({ hasText: 'Agent gone:box is not known to this hub now' }).waitFor();
    expect(await page.locator('.card.selected').count()).toBe(0);
  });

  test('search finds a task by title, and the list follows its state live', async () => {
    await createTask({ title: 'needle-in-the-haystack', executor: 'shell', command: 'sleep 0.3' });
    for (let i = 0; i < 5; i++) await createTask({ title: `hay ${i}`, executor: 'shell', command: 'true' });
    await page.goto(`${url}/#/tasks`);
    await page.getByLabel('Title or id').fill('NEEDLE-in');
    await page.getByRole('button', { name: 'Search' }).click();
    const rows = page.locator('#tasks-body tr');
    await rows.filter({ hasText: 'needle-in-the-haystack' }).waitFor();
    // The list shown before the search holds the needle too: wait for the search's answer to replace it.
    await page.waitForFunction(() => document.querySelectorAll('#tasks-body tr').length === 1, undefined, { timeout: 15_000 });
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('needle-in-the-haystack');
    await rows.filter({ hasText: 'completed' }).waitFor({ timeout: 15_000 });
    await checkView('tasks');
  });

  test('text from tasks is shown as text, and links from data are http(s) or this site only', async () => {
    const t = await createTask({ title: '<img id="injected" src="x"><b id="bold">x</b>', capabilities: ['nobody-has-this-either'] });
    await page.goto(`${url}/#/tasks/${t.id}`);
    await page.getByRole('heading', { name: '<img id="injected" src="x"><b id="bold">x</b>' }).waitFor();
    // It names no executor or model: routed, its chain shown with the candidate it waits for in bold.
    await page.locator('#task-route strong', { hasText: 'ollama:qwen2.5-coder:14b' }).waitFor();
    expect(await page.locator('#task-route').textContent()).toMatch(/^standard: ollama:qwen2\.5-coder:14b → ollama:qwen2\.5-coder:32b → claude/);
    await page.goto(`${url}/#/tasks`);
    await page.locator(`tr[data-task="${t.id}"]`).waitFor();
    expect(await page.locator('#injected, #bold').count()).toBe(0);
    // A string, not a function: vitest would rewrite a dynamic import() inside a function.
    const urls = await page.evaluate(`import('/ui/html.js').then((m) => [m.safeUrl('javascript:alert(1)'), m.safeUrl('//evil.example/x'), m.safeUrl('https://git.example/pr/1'), m.safeUrl('/#/tasks/1')])`);
    expect(urls).toEqual(['#/overview', '#/overview', 'https://git.example/pr/1', '/#/tasks/1']);
    await api(url, 'POST', `/v1/tasks/${t.id}/cancel`, {});
  });

  test('the task page streams output while the task runs', async () => {
    const t = await createTask({ title: 'streamer', executor: 'shell', command: 'for i in 1 2 3 4 5 6; do echo tick-$i; sleep 0.4; done' });
    await page.goto(`${url}/#/tasks/${t.id}`);
    const out = page.locator('#task-output');
    await out.filter({ hasText: 'tick-2' }).waitFor({ timeout: 15_000 });
    // Output arrived while it was still running: streamed, not the final result.
    expect(await statusOf(t.id)).toBe('running');
    await page.getByText('Status: completed').waitFor({ timeout: 15_000 });
    await expect(page.locator('#task-events li').count()).resolves.toBeGreaterThanOrEqual(4);
    await checkView('task');
  });

  test('a real alert (dead_letter_growth) appears live on the Alerts view and the overview, and is acknowledged from the page', async () => {
    await page.goto(`${url}/#/alerts`);
    await page.waitForFunction(() => document.querySelector('#al-active')?.textContent !== 'Loading…');
    expect(await page.locator('#al-active tr[data-alert^="dead_letter_growth:"]').count()).toBe(0);
    // A marker in this document: still there after the alert shows, so no reload brought it.
    await page.evaluate(() => { window.__sameDocument = true; });
    const t = await createTask({ title: 'always-fails', executor: 'shell', max_attempts: 1, command: 'echo no; exit 4' });
    await waitFor('dead letter', async () => (await statusOf(t.id)) === 'dead_letter', 15_000);
    const row = page.locator('#al-active tr[data-alert^="dead_letter_growth:"]');
    await row.waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => window.__sameDocument)).toBe(true);
    const id = (await row.getAttribute('data-alert'))!;
    expect(id).toContain(':'); // the ack below must URL-encode it
    await expect(row.textContent()).resolves.toContain('Tasks dead-lettered');
    const active = await api<{ alerts: Alert[] }>(url, 'GET', '/v1/alerts?state=active');
    expect(active.body.alerts.find((a) => a.id === id)?.rule).toBe('dead_letter_growth');
    await checkView('alerts-active');

    // The overview lists it, and its link opens the dead letter view with the task.
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Overview' }).click();
    const item = page.locator(`#ov-alerts-body li[data-alert="${id}"]`);
    await item.waitFor();
    expect(await item.getByRole('link').getAttribute('href')).toBe('/#/dead-letter');
    await item.getByRole('link').click();
    await page.locator(`tr[data-task="${t.id}"]`).waitFor();

    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('button', { name: 'Acknowledge: Tasks dead-lettered' }).click();
    const ackedRow = page.locator(`#al-acked tr[data-alert="${id}"]`);
    await ackedRow.waitFor();
    expect(await page.locator(`#al-active tr[data-alert="${id}"]`).count()).toBe(0);
    const acked = await api<{ alerts: Alert[] }>(url, 'GET', '/v1/alerts?state=acknowledged');
    const alert = acked.body.alerts.find((a) => a.id === id);
    expect(alert?.state).toBe('acknowledged');
    expect(alert?.acked_by).toBeTruthy();
    await expect(ackedRow.textContent()).resolves.toContain(`acknowledged by ${alert!.acked_by}`);
    expect(await page.locator('#al-note').textContent()).toBe('');
    await checkView('alerts');
    await api(url, 'POST', `/v1/tasks/${t.id}/cancel`, {});
  });

  test('the overview draws its charts from /v1/metrics/history and shows health (store, degraded mode, last backup) and open alerts', async () => {
    await waitFor('a closed history step', async () => (await api<MetricsHistory>(url, 'GET', '/v1/metrics/history')).body.points.length > 0, 15_000);
    const backup = await api(url, 'POST', '/v1/backups', {});
    expect(backup.status).toBe(201);
    const history = page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/metrics/history');
    await page.goto(`${url}/#/overview`);
    const res = await history;
    expect(res.status()).toBe(200);
    const body = (await res.json()) as MetricsHistory;
    expect(body.step_ms).toBe(10_000);
    expect(body.points.length).toBeGreaterThan(0);
    const charts = page.locator('#ov-charts-body .chart');
    await charts.locator('canvas').first().waitFor();
    expect(await charts.locator('canvas').count()).toBe(3);
    expect(await charts.first().getAttribute('aria-label')).toMatch(/^Queue depth: queued now \d+, running now \d+$/);
    const health = page.locator('#health-list');
    await health.locator('[data-health="backup"]').filter({ hasText: /^ok .*took \d+ ms\)$/ }).waitFor();
    expect(await health.locator('[data-health="status"]').textContent()).toBe('ok');
    expect(await health.locator('[data-health="store"]').textContent()).toBe('ok (takes writes)');
    expect(await health.locator('[data-health="degraded"]').textContent()).toBe('no');
    expect(await health.locator('[data-health="log"]').textContent()).toMatch(/^\d+$/);
    // The acknowledged alert from the test before is still open (its condition holds): said, not listed as active.
    await page.locator('#ov-alerts-body').filter({ hasText: 'acknowledged, still open: Tasks dead-lettered' }).waitFor();
    await checkView('overview-health');
    // Degraded mode (not reachable on a healthy hub without breaking its disk): the same panel, fed the report a degraded hub gives.
    const degraded = await page.evaluate(`import('/ui/views/overview.js').then((m) => { const d = document.createElement('div'); d.innerHTML = m.healthPanel({ status: 'degraded', store: 'failed', uptime_s: 60, log: { dropped: 3 }, recovery: null,
      degraded: { reason: 'disk_full', code: 'STORE_DEGRADED', message: 'the disk is full', since: Date.now(), needs_ack: false },
      backups: { last: { at: Date.now(), ok: false, took_ms: 5, error: { code: 'BACKUP_FAILED', message: 'no space' } }, next_at: null, running: false, kept: 0 } }).__html;
      return ['status', 'degraded', 'backup', 'log'].map((k) => d.querySelector('[data-health="' + k + '"]').textContent); })`);
    expect(degraded).toEqual([
      'degraded',
      expect.stringMatching(/^since .+: disk_full — the disk is full \(ends by itself once writes succeed\)$/),
      expect.stringMatching(/^failed .+: BACKUP_FAILED no space$/),
      '3',
    ]);
  });

  test('the Notifications section says what this browser can do about push', async () => {
    await page.goto(`${url}/#/alerts`);
    const section = page.locator('#notifications');
    await section.waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.querySelector('#notifications')?.dataset.push);
    const state = page.locator('#push-state');
    const text = (await state.textContent()) ?? '';
    // Headless Chromium on 127.0.0.1 has service workers and PushManager but no push service behind them.
    expect(await section.getAttribute('data-push')).toBe('not-subscribed');
    expect(text).toBe('This browser is not subscribed. Subscribe to get alerts as notifications, even with this page closed.');
    await expect(page.getByRole('button', { name: 'Unsubscribe' }).isDisabled()).resolves.toBe(true);
    await expect(page.getByRole('button', { name: 'Subscribe this browser' }).isEnabled()).resolves.toBe(true);
    await expect(section.getByRole('group', { name: /Alert kinds to receive/ }).isVisible()).resolves.toBe(true);
    // Subscribing where there is no push service (or no permission) says why, instead of throwing.
    await page.getByRole('button', { name: 'Subscribe this browser' }).click();
    await state.filter({ hasText: /^Could not subscribe: .{8,}/ }).waitFor({ timeout: 15_000 });
    expect(await state.textContent()).not.toMatch(/undefined|\[object/);
    await checkView('alerts-notifications');
  });

  test('a dead-lettered task is retried from the dead-letter view and completes', async () => {
    const marker = join(dir, 'second-time');
    const t = await createTask({ title: 'flaky-once', executor: 'shell', max_attempts: 1, command: `test -f '${marker}' || { touch '${marker}'; echo first run fails; exit 3; }` });
    await waitFor('dead letter', async () => (await statusOf(t.id)) === 'dead_letter');
    await page.goto(`${url}/#/dead-letter`);
    const row = page.locator(`tr[data-task="${t.id}"]`);
    await row.waitFor();
    await checkView('dead-letter');
    await page.getByLabel(`Select flaky-once`).check();
    // The view was opened earlier in this page (from the overview's alert link): one click, one request.
    const retries: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => { if (r.method() === 'POST' && r.url().endsWith('/retry')) retries.push(r.url()); };
    page.on('request', onRequest);
    await page.getByRole('button', { name: 'Retry selected' }).click();
    await page.getByText('Retried 1 task(s).').waitFor();
    page.off('request', onRequest);
    expect(retries).toEqual([`${url}/v1/tasks/${t.id}/retry`]);
    expect(await page.locator('#dl-result').textContent()).toBe('Retried 1 task(s).');
    await waitFor('retried task completed', async () => (await statusOf(t.id)) === 'completed', 15_000);
  });

  test('a task in review is approved from its page', async () => {
    const t = await createTask({ title: 'needs-a-look', executor: 'shell', command: 'echo reviewed work', review: true });
    await page.goto(`${url}/#/tasks/${t.id}`);
    await page.getByText('Status: review').waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Status: completed').waitFor();
    expect(await statusOf(t.id)).toBe('completed');
  });

  test('at phone width the views still work', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${url}/#/tasks`);
    await page.locator('#tasks-body tr').first().waitFor();
    await checkView('tasks-phone');
    await page.goto(`${url}/#/alerts`);
    await page.locator('#al-acked tr[data-alert^="dead_letter_growth:"]').waitFor();
    await checkView('alerts-phone');
    await page.setViewportSize({ width: 1200, height: 900 });
  });

  test('after the hub restarts, the page reconnects by itself and shows the state from the new snapshot', async () => {
    await page.goto(`${url}/#/overview`);
    await page.locator('body[data-feed="live"]').waitFor();
    await hubProc.stop();
    await page.locator('body[data-feed="reconnecting"]').waitFor();
    const again = await startHubProc(join(dir, 'hub'), port, HUB_ENV);
    procs.push(again.proc);
    const stuck = await createTask({ title: 'after-restart', capabilities: ['nobody-has-this'], lane: 'low' });
    await page.locator('body[data-feed="live"]').waitFor({ timeout: 20_000 });
    // Whether it came in the hello's counts or as a frame after it, the page shows it queued.
    await page.locator('[data-count="low"]').filter({ hasText: /^1$/ }).waitFor();
    expect(await statusOf(stuck.id)).toBe('queued');
  });
});
