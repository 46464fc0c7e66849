/**
 * Dashboard bench: what the live dashboard costs the hub, and how fast a change reaches the page.
 *
 *   npm run bench:dashboard
 *   BENCH_SECONDS=3 npm run bench:dashboard        (a quick run)
 *   BENCH_ROUNDS=5 npm run bench:dashboard         (more alternating rounds; default 3)
 *
 * 1. Cycles/s: a hub process and 10 simulated sidecars (bench/dispatch-fleet.ts, the dispatch bench's
 *    fleet) run full durable cycles (POST batch, assign, accept, complete) as fast as they go, first
 *    with no dashboard connected, then with 10 dashboard feed sockets (ws clients that connect as the
 *    dashboard does: the bearer subprotocol and the batch subprotocol, one message per turn of the
 *    hub's loop). The clients run in their own process at nice 19 (bench/dashboard-clients.ts):
 *    real dashboards run on operators' machines, so here they take only the CPU the hub and the
 *    fleet leave; the bench fails if any of them was dropped or missed a change. Rounds alternate
 *    with and without, and the ratio is the median of the rounds'. The hub's CPU per task says
 *    what the feed costs the hub itself.
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
import { FEED_PROTOCOL } from '../shared/feed.js';
import { DashboardClients, type ClientStats } from './dashboard-clients.js';
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
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
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

/** A feed socket as a CLI connects (one message per change), counting messages: the lag part's rate check. */
async function feedSocket(hub: HubProcess): Promise<{ ws: WebSocket; frames: () => number }> {
  let n = 0;
  const protocols = [FEED_PROTOCOL, `bearer.${hub.adminToken}`];
  const ws = new WebSocket(`${hub.url.replace(/^http/, 'ws')}/v1/feed`, protocols);
  // Counted, not parsed: real dashboards parse on their own machines; here they share the hub's cores.
  ws.on('message', () => n++);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  return { ws, frames: () => n };
}

/**
 * The simulated dashboards kept up: none was dropped, and each got every change of the round (a
 * cycle is four: created, assigned, running, completed). Waits for the last frames in flight.
 */
async function keptUp(dashboards: DashboardClients, atLeast: number): Promise<ClientStats> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const s = await dashboards.stats();
    if (s.closes.length > 0) throw new Error(`the hub dropped ${s.closes.length} dashboard socket(s) (close codes ${s.closes.join(', ')})`);
    if (s.changes.every((n) => n >= atLeast)) return s;
    if (Date.now() > deadline) throw new Error(`dashboards fell behind: task changes per socket ${s.changes.join(', ')}, expected at least ${atLeast}`);
    await sleep(100);
  }
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (set SWITCHYARD_CHROMIUM)`);
  cleanUpOnExit();
  printMachine(machineInfo());
  out(`dashboard bench: ${SIDECARS} simulated sidecars, ${DASHBOARDS} feed sockets, ${SECONDS} s windows, lag under ${RATE} task changes/s`);
  const dataDir = tempDir('sy-bench-dashboard');
  const hub = await HubProcess.start({ dataDir, heartbeatMs: 5000 });
  const fleet = FleetProcess.start();
  const dashboards = DashboardClients.start();
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
    // Rounds alternate (A B B A A B ...) so that a machine getting busier or quieter during the run
    // (other work on a shared box) weighs on both sides alike; the ratio is the median of the rounds'.
    const rounds: Array<{ none: CyclesResult & { hubCpuUsPerTask: number }; withTen: CyclesResult & { hubCpuUsPerTask: number } }> = [];
    let framesPerSocket = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const order: Array<'none' | 'ten'> = r % 2 === 0 ? ['none', 'ten'] : ['ten', 'none'];
      const got: Partial<(typeof rounds)[number]> = {};
      for (const side of order) {
        if (side === 'none') {
          progress(`round ${r + 1}/${ROUNDS}: cycles with no dashboard`);
          got.none = await cyclesOnce(fleet, hub);
        } else {
          progress(`round ${r + 1}/${ROUNDS}: cycles with ${DASHBOARDS} dashboards`);
          await dashboards.open(`${hub.url.replace(/^http/, 'ws')}/v1/feed`, hub.adminToken, DASHBOARDS);
          got.withTen = await cyclesOnce(fleet, hub);
          const seen = await keptUp(dashboards, 4 * got.withTen.posted);
          framesPerSocket = Math.round(seen.messages / DASHBOARDS);
          await dashboards.close();
        }
      }
      rounds.push(got as (typeof rounds)[number]);
    }
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
    const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };
    const ratio = median(rounds.map((r) => r.withTen.perSecond / r.none.perSecond));
    const none = { perSecond: median(rounds.map((r) => r.none.perSecond)), hubCpuUsPerTask: median(rounds.map((r) => r.none.hubCpuUsPerTask)) };
    const withTen = { perSecond: median(rounds.map((r) => r.withTen.perSecond)), hubCpuUsPerTask: median(rounds.map((r) => r.withTen.hubCpuUsPerTask)) };
    out();
    printTable(['round', 'cycles/s, 0 dashboards', `cycles/s, ${DASHBOARDS} dashboards`, 'ratio', 'hub CPU µs/task 0 / 10'], rounds.map((r, i) => [
      String(i + 1), fmtNum(r.none.perSecond), fmtNum(r.withTen.perSecond), fmtRatio(r.withTen.perSecond / r.none.perSecond), `${fmtNum(r.none.hubCpuUsPerTask)} / ${fmtNum(r.withTen.hubCpuUsPerTask)}`,
    ]));
    out();
    printTable(['dashboards', 'cycles/s (median)', 'hub CPU µs/task', 'messages/socket'], [
      ['0', fmtNum(none.perSecond), fmtNum(none.hubCpuUsPerTask), '—'],
      [String(DASHBOARDS), fmtNum(withTen.perSecond), fmtNum(withTen.hubCpuUsPerTask), fmtNum(framesPerSocket)],
    ]);
    out(`  ratio ${fmtRatio(ratio)} (median of ${ROUNDS} rounds)`);
    out();
    out(`lag change -> DOM, ${lags.length} renders, ${fmtNum(changesPerSec)} task changes/s delivered: p50 ${fmtLatency(lag.p50)}, p99 ${fmtLatency(lag.p99)}, max ${fmtLatency(lag.max)}`);
    out();
    printTargets([
      { name: 'p99 change -> DOM lag <= 1 s at 1,000 changes/s', pass: lags.length > 0 && lag.p99 <= 1000, detail: `p99 ${fmtLatency(lag.p99)}` },
      { name: `cycles/s with ${DASHBOARDS} dashboards >= 0.9x with none`, pass: ratio >= 0.9, detail: `${fmtNum(withTen.perSecond)} vs ${fmtNum(none.perSecond)} (${fmtRatio(ratio)})` },
    ]);
  } finally {
    await fleet.stop().catch(() => undefined);
    dashboards.stop();
    await hub.stop();
    removeDir(dataDir);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:dashboard failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
