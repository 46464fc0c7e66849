/**
 * Dashboard bench: what the live dashboard costs the hub, and how fast a change reaches the page.
 *
 *   npm run bench:dashboard
 *   BENCH_SECONDS=3 npm run bench:dashboard        (a quick run)
 *
 * 1. Cycles/s: a hub process and 10 simulated sidecars (bench/dispatch-fleet.ts, the dispatch bench's
 *    fleet) run full durable cycles (POST batch, assign, accept, complete) as fast as they go, first
 *    with no dashboard connected, then with 10 dashboard feed sockets (ws clients authenticated by
 *    the bearer subprotocol, counting frames; not parsing them: real dashboards parse on their own
 *    machines, and here they would share the hub's two cores). The ratio is the feed's cost on this
 *    machine, contention included (the 10 clients receive in this process on the same cores); the
 *    hub's CPU per task says what the feed costs the hub itself.
 * 2. Lag: one Chromium page (Debian's, playwright-core) signed in on the overview, while this
 *    process posts 1,000 tasks a second (10 batches of 100: one task.changed frame each). A
 *    MutationObserver in the page records, at each render of `#last-change`, Date.now() minus the
 *    change's `event.at` (the hub's clock: one machine, one clock): commit, fsync, feed, parse,
 *    the animation frame and the DOM write. p50 / p99 over the window.
 *
 * Targets (issue 10): p99 lag <= 1 s; cycles/s with 10 dashboards >= 0.9x with none. Informational:
 * exits 0 either way.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { HubHttp } from './dispatch-http.js';
import { HubProcess } from './dispatch-hub.js';
import { FleetProcess, type AgentCred, type ConnectResult, type CyclesResult } from './dispatch-ipc.js';
import { machineInfo } from './support/machine.js';
import { fmtLatency, summarize } from './support/percentiles.js';
import { fmtNum, fmtRatio, out, printMachine, printTable, printTargets, progress, progressDone } from './support/report.js';
import { cleanUpOnExit, removeDir, tempDir } from './support/temp.js';

// Browser globals, for the functions that playwright runs in the page (the project's lib has no DOM).
declare const sessionStorage: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const MutationObserver: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_MS = 2000;
const SIDECARS = 10;
const DASHBOARDS = 10;
const RATE = 1000;
const CHROMIUM = process.env.SWITCHYARD_CHROMIUM ?? '/usr/bin/chromium';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Cycles/s, and the hub's CPU per task over the whole run (warm-up and drain too): its cost apart from contention. */
async function cyclesOnce(fleet: FleetProcess, hub: HubProcess): Promise<CyclesResult & { hubCpuUsPerTask: number }> {
  const cpu0 = hub.cpuMs();
  const r = await fleet.call<CyclesResult>({ cmd: 'cycles', hubUrl: hub.url, adminToken: hub.adminToken, batchSize: 500, backlog: 2000, warmupMs: WARMUP_MS, windowMs: SECONDS * 1000, drainTimeoutMs: 30_000 }, () => undefined);
  if (r.leftOver > 0) throw new Error(`${r.leftOver} tasks were not completed (first error: ${r.firstError})`);
  return { ...r, hubCpuUsPerTask: ((hub.cpuMs() - cpu0) * 1000) / r.posted };
}

/** A dashboard's feed socket: authenticated by the subprotocol, every frame parsed. */
async function feedSocket(hub: HubProcess): Promise<{ ws: WebSocket; frames: () => number }> {
  let n = 0;
  const ws = new WebSocket(`${hub.url.replace(/^http/, 'ws')}/v1/feed`, ['switchyard.v1', `bearer.${hub.adminToken}`]);
  // Counted, not parsed: real dashboards parse on their own machines; here they share the hub's cores.
  ws.on('message', () => n++);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  return { ws, frames: () => n };
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (set SWITCHYARD_CHROMIUM)`);
  cleanUpOnExit();
  printMachine(machineInfo());
  out(`dashboard bench: ${SIDECARS} simulated sidecars, ${DASHBOARDS} feed sockets, ${SECONDS} s windows, lag under ${RATE} task changes/s`);
  const dataDir = tempDir('sy-bench-dashboard');
  const hub = await HubProcess.start({ dataDir, heartbeatMs: 5000 });
  const fleet = FleetProcess.start();
  try {
    // ---- 1. cycles/s with 0 and with 10 dashboards
    const http = new HubHttp(hub.url, hub.adminToken, 4);
    const creds: AgentCred[] = [];
    for (let i = 0; i < SIDECARS; i++) {
      const id = `bench-dash-${i}`;
      creds.push({ id, token: (await http.post<{ token: string }>('/v1/agents', { id })).token });
    }
    const conn = await fleet.call<ConnectResult>({ cmd: 'connect', url: `${hub.url.replace(/^http/, 'ws')}/v1/agent`, agents: creds, maxConcurrency: 16, concurrency: 10 });
    if (conn.failed > 0) throw new Error(`sidecars could not connect: ${conn.firstError}`);
    progress('cycles with no dashboard');
    const none = await cyclesOnce(fleet, hub);
    progress(`cycles with ${DASHBOARDS} dashboards`);
    const sockets = await Promise.all(Array.from({ length: DASHBOARDS }, () => feedSocket(hub)));
    const withTen = await cyclesOnce(fleet, hub);
    const framesPerSocket = Math.round(sockets.reduce((a, s) => a + s.frames(), 0) / DASHBOARDS);
    for (const s of sockets) s.ws.close();
    await fleet.call({ cmd: 'disconnect' });

    // ---- 2. change -> DOM lag in one Chromium page
    progress('lag: opening the dashboard in Chromium');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const page = await browser.newPage();
    await page.addInitScript((t) => sessionStorage.setItem('switchyard.token', t), hub.adminToken);
    await page.goto(`${hub.url}/#/overview`);
    await page.locator('body[data-feed="live"]').waitFor();
    await page.locator('#last-change').waitFor();
    await page.evaluate(() => {
      const w = window as unknown as { lags: number[] };
      w.lags = [];
      const el = document.getElementById('last-change')!;
      new MutationObserver(() => { const at = Number(el.dataset.at); if (at) w.lags.push(Date.now() - at); }).observe(el, { attributes: true, attributeFilter: ['data-at'] });
    });
    const counter = await feedSocket(hub);
    const before = counter.frames();
    progress(`lag: ${RATE} task changes/s for ${SECONDS} s`);
    // Tasks no agent can run (none is connected now): one durable change each, and they stay queued.
    const batch = { tasks: Array.from({ length: RATE / 10 }, (_, i) => ({ title: `load ${i}`, capabilities: ['bench-nobody'] })) };
    const t0 = performance.now();
    let sent = 0;
    while (performance.now() - t0 < SECONDS * 1000) {
      const due = t0 + sent * 100;
      if (performance.now() < due) await sleep(due - performance.now());
      await http.post('/v1/tasks/batch', batch);
      sent++;
    }
    await sleep(1000);
    const elapsed = (performance.now() - t0) / 1000;
    const changesPerSec = (counter.frames() - before) / elapsed;
    const lags = (await page.evaluate(() => (window as unknown as { lags: number[] }).lags)).sort((a, b) => a - b);
    counter.ws.close();
    await browser.close();
    http.close();
    progressDone();

    const lag = summarize(lags);
    const ratio = withTen.perSecond / none.perSecond;
    out();
    printTable(['dashboards', 'cycles/s', 'hub CPU µs/task', 'frames/socket'], [
      ['0', fmtNum(none.perSecond), fmtNum(none.hubCpuUsPerTask), '—'],
      [String(DASHBOARDS), fmtNum(withTen.perSecond), fmtNum(withTen.hubCpuUsPerTask), fmtNum(framesPerSocket)],
    ]);
    out(`  ratio ${fmtRatio(ratio)}`);
    out();
    out(`lag change -> DOM, ${lags.length} renders, ${fmtNum(changesPerSec)} task changes/s delivered: p50 ${fmtLatency(lag.p50)}, p99 ${fmtLatency(lag.p99)}, max ${fmtLatency(lag.max)}`);
    out();
    printTargets([
      { name: 'p99 change -> DOM lag <= 1 s at 1,000 changes/s', pass: lags.length > 0 && lag.p99 <= 1000, detail: `p99 ${fmtLatency(lag.p99)}` },
      { name: `cycles/s with ${DASHBOARDS} dashboards >= 0.9x with none`, pass: ratio >= 0.9, detail: `${fmtNum(withTen.perSecond)} vs ${fmtNum(none.perSecond)} (${fmtRatio(ratio)})` },
    ]);
  } finally {
    await fleet.stop().catch(() => undefined);
    await hub.stop();
    removeDir(dataDir);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:dashboard failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
