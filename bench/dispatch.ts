/**
 * Dispatch bench: how fast a real hub hands tasks to real WebSocket sidecars, and what a large
 * idle fleet costs it.
 *
 *   npm run bench:dispatch
 *   BENCH_SECONDS=2 BENCH_IDLE_SIDECARS=2000 npm run bench:dispatch        (a quick run)
 *   BENCH_BASE=/tmp/base BENCH_ROUNDS=3 npm run bench:dispatch               (A/B against another build)
 *
 * Three processes: this one (the bench: it starts the others, registers agents over REST, runs the
 * baseline's echo server and reads /proc), the hub (`node dist/cli/switchyard.js hub`, a fresh data
 * folder per phase), and the fleet (bench/dispatch-fleet.ts: every client).
 *
 * 1. Baseline: raw ws round trips/s between this process (a plain echo server) and the fleet
 *    process, at each fleet size, each client keeping one message in flight.
 * 2. For each fleet size N: N simulated sidecars (bench/dispatch-sim.ts) connect to the hub;
 *    - full durable cycles/s: the queue is fed by POST /v1/tasks/batch; each task is assigned,
 *      accepted and completed, every step acknowledged by the hub; completions acknowledged in a
 *      fixed window after a warm-up are counted;
 *    - enqueue-to-assign on the idle fleet: one task at a time, from just before the POST to the
 *      moment a sidecar receives task.assign (the submitter lives in the fleet process: one clock).
 * 3. A fresh hub, 10,000 registered agents, all connected and heartbeating: hub RSS, and the
 *    round trip of a heartbeat followed by a ws ping on the same socket.
 * 4. The targets, PASS or MISS. Informational: the bench exits 0 either way.
 *
 * With BENCH_BASE (the root of another checkout, built: `npm run build` there), step 2 runs for
 * both builds in BENCH_ROUNDS rounds, interleaved (A B, B A, ...), with the same fleet process as
 * the client; the report gives each round's figures and the median of the per-round ratios. Each
 * round also measures one fsync'd LevelDB batch (bench/dispatch-fsync.ts), the disk baseline that
 * enqueue-to-assign is read against.
 *
 * Progress goes to stderr, results to stdout. docs/benchmarks.md says how to read the figures.
 */
import { HubHttp } from './dispatch-http.js';
import { startEchoServer } from './dispatch-echo.js';
import { HubProcess, hubNodeArgs } from './dispatch-hub.js';
import {
  FleetProcess,
  type AgentCred,
  type ConnectResult,
  type CyclesResult,
  type HeartbeatsResult,
  type LatencyResult,
  type LimitsResult,
  type PingPongResult,
} from './dispatch-ipc.js';
import { fsyncBatchLatency } from './dispatch-fsync.js';
import { BatchStats, type BatchWindow } from './dispatch-batches.js';
import { cpuMsOf, fdLimitOf } from './dispatch-proc.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LatencySummary } from './support/percentiles.js';
import { machineInfo } from './support/machine.js';
import { fmtLatency } from './support/percentiles.js';
import { fmtBytes, fmtMs, fmtNum, fmtRatio, out, printMachine, printTable, printTargets, progress, progressDone, type Target } from './support/report.js';
import { cleanUpOnExit, removeDir, tempDir } from './support/temp.js';
import { clock } from './support/timing.js';
import { intList } from './support/env.js';

// ---------------------------------------------------------------- config

interface DispatchConfig {
  /** Fleet sizes for the baseline, the cycles and the latency. @defaultValue [1, 10, 100] */
  fleets: number[];
  /** Length of each measurement window. @defaultValue 5 */
  seconds: number;
  /** Running time before each window. @defaultValue 2 */
  warmupSeconds: number;
  /** max_concurrency each simulated sidecar announces. @defaultValue 16 */
  maxConcurrency: number;
  /** Tasks per POST /v1/tasks/batch. @defaultValue 500 */
  batchSize: number;
  /** Tasks posted but not yet assigned, at most (keeps the queue fed but shallow). @defaultValue 2000 */
  backlog: number;
  /** Enqueue-to-assign samples per fleet size (after 20 discarded warm-up samples). @defaultValue 500 */
  latencySamples: number;
  /** Pause between latency samples, so each task meets an idle fleet. @defaultValue 2 */
  latencyGapMs: number;
  /** Sidecars in the idle-fleet phase; 0 skips it. @defaultValue 10000 */
  idleSidecars: number;
  /** Heartbeat interval the hub asks for (SWITCHYARD_HEARTBEAT_MS). @defaultValue 5000 */
  heartbeatMs: number;
  /** Length of the idle-fleet window; longer than the hub's ping interval (15 s), so it holds one ping sweep. @defaultValue 16 */
  idleSeconds: number;
  /** Messages each ping-pong client keeps in flight. @defaultValue 1 */
  pingInFlight: number;
  /** Concurrent POST /v1/agents while registering. @defaultValue 32 */
  registerConcurrency: number;
  /** Concurrent handshakes while connecting the idle fleet. @defaultValue 200 */
  connectConcurrency: number;
  /** When set, each hub runs with --cpu-prof and writes its profile into this folder. */
  cpuProfDir: string | undefined;
  /** Where the hubs' temp data folders go. @defaultValue os.tmpdir() */
  dir: string | undefined;
  /** Root of another, built checkout to compare with (A/B); its dist/cli/switchyard.js runs the base hub. */
  base: string | undefined;
  /** Rounds of the dispatch phase (each: this build and the base, interleaved). @defaultValue 3 with a base, else 1 */
  rounds: number;
  /** Samples of the fsync'd LevelDB batch per round. @defaultValue 300 */
  fsyncSamples: number;
}

function num(name: string, raw: string | undefined, fallback: number, opts: { integer?: boolean; zero?: boolean } = {}): number {
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw.replace(/_/g, ''));
  const integer = opts.integer ?? true;
  const ok = (opts.zero ? v >= 0 : v > 0) && (!integer || Number.isInteger(v));
  if (!ok) throw new Error(`${name} must be a ${opts.zero ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}, got '${raw}'`);
  return v;
}

function configFromEnv(env: NodeJS.ProcessEnv): Readonly<DispatchConfig> {
  return Object.freeze({
    fleets: intList('BENCH_FLEETS', env.BENCH_FLEETS ?? '1,10,100').sort((a, b) => a - b),
    seconds: num('BENCH_SECONDS', env.BENCH_SECONDS, 5, { integer: false }),
    warmupSeconds: num('BENCH_WARMUP_SECONDS', env.BENCH_WARMUP_SECONDS, 2, { integer: false }),
    maxConcurrency: num('BENCH_MAX_CONCURRENCY', env.BENCH_MAX_CONCURRENCY, 16),
    batchSize: num('BENCH_BATCH', env.BENCH_BATCH, 500),
    backlog: num('BENCH_BACKLOG', env.BENCH_BACKLOG, 2000),
    latencySamples: num('BENCH_LATENCY_SAMPLES', env.BENCH_LATENCY_SAMPLES, 500),
    latencyGapMs: num('BENCH_LATENCY_GAP_MS', env.BENCH_LATENCY_GAP_MS, 2, { zero: true }),
    idleSidecars: num('BENCH_IDLE_SIDECARS', env.BENCH_IDLE_SIDECARS, 10_000, { zero: true }),
    heartbeatMs: num('BENCH_HEARTBEAT_MS', env.BENCH_HEARTBEAT_MS, 5000),
    idleSeconds: num('BENCH_IDLE_SECONDS', env.BENCH_IDLE_SECONDS, 16, { integer: false }),
    pingInFlight: num('BENCH_PING_IN_FLIGHT', env.BENCH_PING_IN_FLIGHT, 1),
    registerConcurrency: num('BENCH_REGISTER_CONCURRENCY', env.BENCH_REGISTER_CONCURRENCY, 32),
    connectConcurrency: num('BENCH_CONNECT_CONCURRENCY', env.BENCH_CONNECT_CONCURRENCY, 200),
    cpuProfDir: env.BENCH_HUB_CPU_PROF || undefined,
    dir: env.BENCH_DIR || undefined,
    base: env.BENCH_BASE || undefined,
    rounds: num('BENCH_ROUNDS', env.BENCH_ROUNDS, env.BENCH_BASE ? 3 : 1),
    fsyncSamples: num('BENCH_FSYNC_SAMPLES', env.BENCH_FSYNC_SAMPLES, 300),
  });
}

/** Targets: what the hub promises. */
const TARGET_CYCLES_AT_100 = 10_000;
const TARGET_ASSIGN_P99_MS = 5;
const TARGET_IDLE_SIDECARS = 10_000;
const TARGET_IDLE_RSS_BYTES = 1024 ** 3;
/** Issue 16: cycles/s at 100 sidecars against the base build, in the same run. */
const TARGET_RATIO_AT_100 = 2.5;
/** Issue 16: p99 enqueue-to-assign against one fsync'd LevelDB batch (its median), in the same run. */
const TARGET_ASSIGN_VS_FSYNC = 3;

/** Bytes per ping-pong message: about a protocol ack or heartbeat frame. */
const PING_PAYLOAD_BYTES = 64;
const LATENCY_WARMUP_SAMPLES = 20;

// ---------------------------------------------------------------- helpers

/** What `read` says over a fleet command's window: read at its start and end marks, `between` the two. */
class Window<S, T> {
  private start: { t: number; sample: S } | null = null;
  private value: T | null = null;

  constructor(
    private readonly read: () => S,
    private readonly between: (before: S, after: S, windowMs: number) => T,
  ) {}

  readonly onMark = (m: 'start' | 'end'): void => {
    let sample: S;
    try {
      sample = this.read();
    } catch {
      return; // the process is gone; the command itself reports why
    }
    const t = clock();
    if (m === 'start') this.start = { t, sample };
    else if (this.start) this.value = this.between(this.start.sample, sample, t - this.start.t);
  };

  /** null when a mark was missed or a read failed. */
  get result(): T | null {
    return this.value;
  }
}

/** CPU time of a process over a fleet command's window, as a share of one core (NaN if unread). */
class WindowCpu extends Window<number, number> {
  constructor(read: () => number) {
    super(read, (before, after, ms) => (after - before) / ms);
  }

  get core(): number {
    return this.result ?? NaN;
  }
}

/**
 * CPU time of each of a process's threads over a fleet command's window, as shares of one core: where
 * the CPU that is not the main thread's goes (V8's GC helpers, libuv's pool writing LevelDB's
 * batches, LevelDB's one compaction thread). Node names none of them, so they are ranked, not named.
 */
const windowThreads = (mainTid: number, read: () => Map<number, number>) =>
  new Window(read, (before, after, ms) => threadShares(mainTid, before, after, ms));

interface ThreadShares {
  main: number;
  /** Every other thread's share, busiest first (threads that ran in the window). */
  others: number[];
}

/** The window's share of a core per thread; a thread born in the window counts from zero. */
function threadShares(mainTid: number, before: Map<number, number>, after: Map<number, number>, windowMs: number): ThreadShares {
  let main = 0;
  const others: number[] = [];
  for (const [tid, ms] of after) {
    const share = (ms - (before.get(tid) ?? 0)) / windowMs;
    if (tid === mainTid) main = share;
    else if (share > 0) others.push(share);
  }
  return { main, others: others.sort((a, b) => b - a) };
}

/** Calls every listener on each mark. */
const fanOut =
  (...fns: Array<(m: 'start' | 'end') => void>) =>
  (m: 'start' | 'end'): void => {
    for (const f of fns) f(m);
  };

const pct = (core: number) => (Number.isFinite(core) ? `${Math.round(core * 100)}%` : '-');

/** Registers agents over REST (each one fsync'd by the hub), `concurrency` requests at a time. */
async function registerAgents(hub: HubProcess, ids: string[], concurrency: number): Promise<{ creds: AgentCred[]; ms: number }> {
  const http = new HubHttp(hub.url, hub.adminToken, concurrency);
  const creds = new Array<AgentCred>(ids.length);
  const start = clock();
  let next = 0;
  let done = 0;
  let lastReport = 0;
  const worker = async () => {
    while (next < ids.length) {
      const i = next++;
      const { token } = await http.post<{ token: string }>('/v1/agents', { id: ids[i], description: 'dispatch bench' });
      creds[i] = { id: ids[i]!, token };
      done++;
      const t = clock();
      if (ids.length >= 1000 && (t - lastReport > 1000 || done === ids.length)) {
        lastReport = t;
        const rate = (done * 1000) / (t - start);
        progress(`  registering agents: ${fmtNum(done)} / ${fmtNum(ids.length)} (${fmtNum(rate)}/s, ~${((ids.length - done) / rate).toFixed(0)} s left)`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  } finally {
    http.close();
  }
  if (ids.length >= 1000) progressDone();
  return { creds, ms: clock() - start };
}

const agentIds = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);

// ---------------------------------------------------------------- phases

interface BaselineRow {
  clients: number;
  result: PingPongResult;
  serverCore: number;
  fleetCore: number;
}

async function baseline(cfg: DispatchConfig, fleet: FleetProcess): Promise<BaselineRow[]> {
  const echo = await startEchoServer();
  const rows: BaselineRow[] = [];
  try {
    for (const clients of cfg.fleets) {
      progress(`baseline: ws ping-pong, ${clients} client(s)`);
      const server = new WindowCpu(() => cpuMsOf('self'));
      const client = new WindowCpu(() => fleet.cpuMs());
      const result = await fleet.call<PingPongResult>(
        {
          cmd: 'pingpong',
          url: echo.url,
          clients,
          inFlight: cfg.pingInFlight,
          payloadBytes: PING_PAYLOAD_BYTES,
          warmupMs: 1000,
          windowMs: cfg.seconds * 1000,
        },
        fanOut(server.onMark, client.onMark),
      );
      rows.push({ clients, result, serverCore: server.core, fleetCore: client.core });
    }
  } finally {
    await echo.close();
  }
  progressDone();
  return rows;
}

interface DispatchRow {
  sidecars: number;
  cycles: CyclesResult;
  hubCore: number;
  /** The hub's main (JavaScript) thread alone. */
  hubMainCore: number;
  fleetCore: number;
  hubRss: number;
  /** The hub's CPU per thread in the window; null if /proc could not be read. */
  threads: ThreadShares | null;
  /** The hub's group-commit batches in the window (its own metrics); null if they could not be read. */
  batches: BatchWindow | null;
  latency: LatencyResult;
}

/**
 * CPU time per cycle in µs of: the hub's threads (`hub`), the hub's and the fleet's together
 * (`all`), or the hub's JavaScript thread alone (`main`: one thread runs every operation, so
 * 1e6 / this is the most cycles/s the build can reach on any machine, however many cores).
 */
function cpuPerCycleUs(r: DispatchRow, of: 'hub' | 'all' | 'main' = 'hub'): number {
  const core = of === 'main' ? r.hubMainCore : of === 'all' ? r.hubCore + r.fleetCore : r.hubCore;
  return (core * 1e6) / r.cycles.perSecond;
}

/** The per-socket message limit of the dispatch phases' hubs (see dispatchPhase). */
const DISPATCH_WS_PER_SEC = 200_000;

async function dispatchPhase(cfg: DispatchConfig, fleet: FleetProcess, cli?: string): Promise<DispatchRow[]> {
  const dataDir = tempDir('sy-bench-dispatch', cfg.dir);
  progress(`dispatch: starting the hub${cli ? ` (${cli})` : ''}`);
  const hub = await HubProcess.start({
    dataDir,
    heartbeatMs: cfg.heartbeatMs,
    // A no-op sidecar with 16 slots sends ~15,000 frames a second on its socket, more than any real
    // executor could and over the default per-socket limit (2,000/s, docs/security.md): the cycles
    // phases raise it so that one or ten sidecars measure the hub, not the limiter.
    env: { SWITCHYARD_LIMIT_WS_PER_SEC: String(DISPATCH_WS_PER_SEC) },
    ...(cfg.cpuProfDir ? { cpuProfDir: cfg.cpuProfDir } : {}),
    ...(cli ? { cli } : {}),
  });
  const rows: DispatchRow[] = [];
  try {
    const largest = cfg.fleets[cfg.fleets.length - 1]!;
    progress(`dispatch: registering ${largest} agents`);
    const { creds } = await registerAgents(hub, agentIds('bench-sc', largest), cfg.registerConcurrency);
    const wsUrl = `${hub.url.replace(/^http/, 'ws')}/v1/agent`;
    for (const n of cfg.fleets) {
      progress(`dispatch: connecting ${n} sidecar(s)`);
      const conn = await fleet.call<ConnectResult>({ cmd: 'connect', url: wsUrl, agents: creds.slice(0, n), maxConcurrency: cfg.maxConcurrency, concurrency: 50 });
      if (conn.failed > 0) throw new Error(`${conn.failed} of ${n} sidecars could not connect: ${conn.firstError}`);
      progress(`dispatch: ${n} sidecar(s), full cycles for ${cfg.warmupSeconds} + ${cfg.seconds} s`);
      const hubCpu = new WindowCpu(() => hub.cpuMs());
      const hubMain = new WindowCpu(() => hub.mainThreadCpuMs());
      const fleetCpu = new WindowCpu(() => fleet.cpuMs());
      const hubThreads = windowThreads(hub.pid, () => hub.threadCpuMs());
      const batchStats = new BatchStats(hub.url, hub.adminToken);
      const cycles = await fleet.call<CyclesResult>(
        {
          cmd: 'cycles',
          hubUrl: hub.url,
          adminToken: hub.adminToken,
          batchSize: cfg.batchSize,
          backlog: cfg.backlog,
          warmupMs: cfg.warmupSeconds * 1000,
          windowMs: cfg.seconds * 1000,
          drainTimeoutMs: 30_000,
        },
        fanOut(hubCpu.onMark, hubMain.onMark, hubThreads.onMark, fleetCpu.onMark, batchStats.onMark),
      );
      const hubRss = hub.memory().rss;
      const batches = await batchStats.result();
      if (cycles.leftOver > 0) {
        throw new Error(`${cycles.leftOver} posted tasks were not completed; the drain gave up after ${fmtMs(cycles.drainMs)} (first error: ${cycles.firstError})`);
      }
      progress(`dispatch: ${n} sidecar(s), enqueue-to-assign, ${cfg.latencySamples} samples`);
      const latency = await fleet.call<LatencyResult>({
        cmd: 'latency',
        hubUrl: hub.url,
        adminToken: hub.adminToken,
        samples: cfg.latencySamples,
        warmupSamples: LATENCY_WARMUP_SAMPLES,
        gapMs: cfg.latencyGapMs,
      });
      await fleet.call({ cmd: 'disconnect' });
      rows.push({ sidecars: n, cycles, hubCore: hubCpu.core, hubMainCore: hubMain.core, fleetCore: fleetCpu.core, hubRss, threads: hubThreads.result, batches, latency });
    }
    progressDone();
    return rows;
  } catch (err) {
    throw hub.exitReason ? new Error(`${hub.exitReason}\n(the bench step that failed: ${(err as Error).message})`) : err;
  } finally {
    await fleet.call({ cmd: 'disconnect' }).catch(() => undefined);
    await hub.stop();
    removeDir(dataDir);
  }
}

interface IdleResult {
  wanted: number;
  registerMs: number;
  connect: ConnectResult;
  rssBefore: number;
  rssAfter: number;
  peak: number;
  heartbeats: HeartbeatsResult;
  hubCore: number;
  hubFdLimit: string;
}

async function idlePhase(cfg: DispatchConfig, fleet: FleetProcess): Promise<IdleResult> {
  const dataDir = tempDir('sy-bench-idle', cfg.dir);
  progress('idle fleet: starting a fresh hub');
  // Ten thousand sidecars from one address (and registered by one token) is not a fleet the default
  // rate limits are sized for: this phase raises the per-address connection and heavy budgets.
  // The dispatch phases run with the defaults (docs/security.md).
  const idleLimits = { SWITCHYARD_LIMIT_CONNECTS_PER_MIN: String(cfg.idleSidecars * 10), SWITCHYARD_LIMIT_HEAVY_PER_MIN: String(cfg.idleSidecars * 10) };
  const hub = await HubProcess.start({ dataDir, heartbeatMs: cfg.heartbeatMs, env: idleLimits, ...(cfg.cpuProfDir ? { cpuProfDir: cfg.cpuProfDir } : {}) });
  try {
    const { creds, ms: registerMs } = await registerAgents(hub, agentIds('bench-idle', cfg.idleSidecars), cfg.registerConcurrency);
    const rssBefore = hub.memory().rss;
    const wsUrl = `${hub.url.replace(/^http/, 'ws')}/v1/agent`;
    const connect = await fleet.call<ConnectResult>({ cmd: 'connect', url: wsUrl, agents: creds, maxConcurrency: cfg.maxConcurrency, concurrency: cfg.connectConcurrency });
    // One heartbeat interval (and a second) so that every sidecar's heartbeat timer has started.
    progress(`idle fleet: ${fmtNum(connect.connected)} connected; settling for ${fmtMs(cfg.heartbeatMs + 1000)}`);
    await new Promise((r) => setTimeout(r, cfg.heartbeatMs + 1000));
    progress(`idle fleet: measuring heartbeat round trips for ${cfg.idleSeconds} s`);
    const hubCpu = new WindowCpu(() => hub.cpuMs());
    const heartbeats = await fleet.call<HeartbeatsResult>({ cmd: 'heartbeats', windowMs: cfg.idleSeconds * 1000 }, hubCpu.onMark);
    const { rss: rssAfter, peak } = hub.memory();
    progress('idle fleet: disconnecting');
    await fleet.call({ cmd: 'disconnect' });
    progressDone();
    return { wanted: cfg.idleSidecars, registerMs, connect, rssBefore, rssAfter, peak, heartbeats, hubCore: hubCpu.core, hubFdLimit: hub.fdLimit() };
  } catch (err) {
    throw hub.exitReason ? new Error(`${hub.exitReason}\n(the bench step that failed: ${(err as Error).message})`) : err;
  } finally {
    await fleet.call({ cmd: 'disconnect' }).catch(() => undefined);
    await hub.stop();
    removeDir(dataDir);
  }
}

// ---------------------------------------------------------------- report

function printSetup(cfg: DispatchConfig, fdLimits: { bench: string; fleet: string }): void {
  out();
  out('setup:');
  out('  hub:      `node dist/cli/switchyard.js hub` in its own process, fresh LevelDB data folder per phase,');
  out(`            SWITCHYARD_LOG_LEVEL=warn, SWITCHYARD_HEARTBEAT_MS=${cfg.heartbeatMs}, SWITCHYARD_LIMIT_WS_PER_SEC=${fmtNum(DISPATCH_WS_PER_SEC)} in the cycles phases`);
  out(`            node flags: ${hubNodeArgs().join(' ') || 'none'} (hub/node-flags.ts, as pm2 runs the hub; then BENCH_HUB_NODE_ARGS)`);
  out(`  sidecars: simulated, all in one fleet process apart from the hub; each a real ws client speaking`);
  out(`            protocol v1 (hello with its agent token; per task.assign: task.accept, wait for the ack,`);
  out(`            task.complete, wait for the ack; a no-op executor), max_concurrency ${cfg.maxConcurrency} each`);
  out(`  feed:     POST /v1/tasks/batch, ${cfg.batchSize} tasks per batch, at most ${fmtNum(cfg.backlog)} posted but unassigned;`);
  out(`            windows of ${cfg.seconds} s after ${cfg.warmupSeconds} s of warm-up`);
  out(`  open-file limit (soft): bench ${fdLimits.bench}, fleet ${fdLimits.fleet} (children ask for 65536 or their hard limit)`);
}

function printBaseline(rows: BaselineRow[], cfg: DispatchConfig): void {
  out();
  out(`Baseline: raw ws ping-pong (plain WebSocketServer echoing in the bench process; clients in the fleet process,`);
  out(`${cfg.pingInFlight} message of ${PING_PAYLOAD_BYTES} bytes in flight per client)`);
  printTable(
    ['clients', 'round trips/s', 'server CPU', 'client CPU'],
    rows.map((r) => [String(r.clients), fmtNum(r.result.perSecond), pct(r.serverCore), pct(r.fleetCore)]),
  );
}

function printDispatch(rows: DispatchRow[], base: BaselineRow[], cfg: DispatchConfig, cores: number): void {
  out();
  out('Full durable cycles (POST batch -> task.assign -> task.accept + ack -> task.complete + ack), completions');
  out(`acknowledged by the hub in the ${cfg.seconds} s window. CPU as a share of one core: "hub CPU" is all the hub's`);
  out(`threads (LevelDB's included), "main thread" the one that runs its JavaScript; CPU/cycle is hub CPU time per cycle`);
  printTable(
    ['sidecars', 'slots', 'cycles/s', 'vs raw ws', 'hub CPU', 'main thread', 'CPU/cycle', 'fleet CPU', 'hub RSS', 'errors', 'drain'],
    rows.map((r) => {
      const raw = base.find((b) => b.clients === r.sidecars)?.result.perSecond;
      return [
        String(r.sidecars),
        String(r.sidecars * cfg.maxConcurrency),
        fmtNum(r.cycles.perSecond),
        raw ? fmtRatio(r.cycles.perSecond / raw) : '-',
        pct(r.hubCore),
        pct(r.hubMainCore),
        `${fmtNum(cpuPerCycleUs(r))} us`,
        pct(r.fleetCore),
        fmtBytes(r.hubRss),
        String(r.cycles.errors),
        fmtMs(r.cycles.drainMs),
      ];
    }),
  );
  const errs = rows.filter((r) => r.cycles.firstError);
  for (const r of errs) out(`  first error at ${r.sidecars} sidecar(s): ${r.cycles.firstError}`);
  out();
  out("The hub's CPU by thread in the same window (shares of one core; node names none of its threads, so the");
  out("others are ranked: V8's GC helpers, libuv's pool that writes LevelDB's batches, LevelDB's one compaction");
  out('thread). "all CPU/cycle" is the hub\'s and the fleet\'s CPU time per cycle; "ceiling" is the cycles/s that');
  out(`leaves this machine's ${cores} cores no idle time at that cost: the most any build can reach here at that cost`);
  printTable(
    ['sidecars', 'main', 'busiest other', '2nd', '3rd', 'the rest', 'all CPU/cycle', 'ceiling'],
    rows.map((r) => {
      const t = r.threads;
      const perCycle = cpuPerCycleUs(r, 'all');
      const rest = t ? t.others.slice(3) : [];
      return [
        String(r.sidecars),
        t ? pct(t.main) : '-',
        t?.others[0] !== undefined ? pct(t.others[0]) : '-',
        t?.others[1] !== undefined ? pct(t.others[1]) : '-',
        t?.others[2] !== undefined ? pct(t.others[2]) : '-',
        t ? `${pct(rest.reduce((a, b) => a + b, 0))} (${rest.length} threads)` : '-',
        `${fmtNum(perCycle)} us`,
        `${fmtNum((cores * 1e6) / perCycle)}/s`,
      ];
    }),
  );
  out();
  out("The task store's fsync'd batches in the same window (the hub's switchyard_store_batch_ops and");
  out('switchyard_store_fsync_seconds): "disk busy" is the share of the window with a batch being written');
  printTable(
    ['sidecars', 'batches/s', 'key ops/batch', 'key ops/cycle', 'write ms/batch', 'disk busy'],
    rows.map((r) => {
      const b = r.batches;
      if (!b) return [String(r.sidecars), '-', '-', '-', '-', '-'];
      return [String(r.sidecars), fmtNum(b.perSecond), fmtNum(b.opsPerBatch), (b.perSecond * b.opsPerBatch / r.cycles.perSecond).toFixed(1), b.writeMs.toFixed(2), pct(b.busy)];
    }),
  );
  out();
  out(`Enqueue-to-assign on an idle fleet (one task at a time, ${cfg.latencySamples} samples after ${LATENCY_WARMUP_SAMPLES} warm-up; from just before`);
  out('POST /v1/tasks to task.assign received by a sidecar, timed in the fleet process; "complete" is until the');
  out('hub acknowledged task.complete; "POST" is the create round trip)');
  printTable(
    ['sidecars', 'assign p50', 'p90', 'p99', 'max', 'POST p50', 'complete p50', 'complete p99'],
    rows.map((r) => [
      String(r.sidecars),
      fmtLatency(r.latency.assign.p50),
      fmtLatency(r.latency.assign.p90),
      fmtLatency(r.latency.assign.p99),
      fmtLatency(r.latency.assign.max),
      fmtLatency(r.latency.post.p50),
      fmtLatency(r.latency.done.p50),
      fmtLatency(r.latency.done.p99),
    ]),
  );
}

function printIdle(r: IdleResult, cfg: DispatchConfig): void {
  out();
  out(`Idle fleet: ${fmtNum(r.wanted)} sidecars connected and heartbeating every ${cfg.heartbeatMs} ms (fresh hub; the ${cfg.idleSeconds} s`);
  out(`window is longer than the hub's 15 s ping interval, so it holds one sweep of the hub's pings to every socket)`);
  out(`  registered ${fmtNum(r.wanted)} agents over REST in ${fmtMs(r.registerMs)} (${fmtNum((r.wanted * 1000) / r.registerMs)}/s, ${cfg.registerConcurrency} concurrent)`);
  out(`  connected  ${fmtNum(r.connect.connected)} / ${fmtNum(r.wanted)} in ${fmtMs(r.connect.elapsedMs)} (${fmtNum((r.connect.connected * 1000) / r.connect.elapsedMs)} hellos/s)`);
  if (r.connect.failed > 0) out(`  NOT REACHED: ${r.connect.failed} failed to connect; first error: ${r.connect.firstError}`);
  out(`  open-file limit of the hub: ${r.hubFdLimit}`);
  out(`  hub RSS    ${fmtBytes(r.rssBefore)} before connecting, ${fmtBytes(r.rssAfter)} after the window, peak ${fmtBytes(r.peak)} (VmHWM)`);
  out(`  hub CPU    ${pct(r.hubCore)} of one core over the ${cfg.idleSeconds} s window`);
  const h = r.heartbeats;
  out(
    `  heartbeat + ping round trip (${fmtNum(h.heartbeats)} samples): p50 ${fmtLatency(h.rtt.p50)}, p90 ${fmtLatency(h.rtt.p90)}, ` +
      `p99 ${fmtLatency(h.rtt.p99)}, max ${fmtLatency(h.rtt.max)}`,
  );
  out(`  (fleet process event-loop delay p99 ${fmtLatency(h.clientLoopDelayP99Ms)}: part of each round trip is the client's own delay)`);
  if (h.dropped > 0) out(`  ${h.dropped} sidecar sockets closed during the window`);
}

function targets(dispatch: DispatchRow[], idle: IdleResult | null, fsync: LatencySummary | null): Target[] {
  const at100 = dispatch.find((r) => r.sidecars === 100);
  const worstP99 = dispatch.length > 0 ? Math.max(...dispatch.map((r) => r.latency.assign.p99)) : NaN;
  const worst = dispatch.find((r) => r.latency.assign.p99 === worstP99);
  const reached = idle ? idle.connect.connected >= TARGET_IDLE_SIDECARS : false;
  const fsyncTarget: Target[] = fsync
    ? [
        {
          name: `p99 enqueue-to-assign on an idle fleet <= ${TARGET_ASSIGN_VS_FSYNC}x one fsync'd LevelDB batch (its median, same run; worst fleet size)`,
          pass: Number.isFinite(worstP99) ? worstP99 <= TARGET_ASSIGN_VS_FSYNC * fsync.p50 : null,
          detail: `p99 ${fmtLatency(worstP99)} vs ${TARGET_ASSIGN_VS_FSYNC} x ${fmtLatency(fsync.p50)} = ${fmtLatency(TARGET_ASSIGN_VS_FSYNC * fsync.p50)} (the batch's own p99: ${fmtLatency(fsync.p99)}); ${fmtRatio(worstP99 / fsync.p50)}`,
        },
      ]
    : [];
  return [
    ...fsyncTarget,
    {
      name: `at 100 sidecars, at least ${fmtNum(TARGET_CYCLES_AT_100)} full durable cycles/s`,
      pass: at100 ? at100.cycles.perSecond >= TARGET_CYCLES_AT_100 : null,
      detail: at100 ? `${fmtNum(at100.cycles.perSecond)} cycles/s` : 'not measured (BENCH_FLEETS has no 100)',
    },
    {
      name: `p99 enqueue-to-assign under ${TARGET_ASSIGN_P99_MS} ms on an idle fleet (worst fleet size)`,
      pass: Number.isFinite(worstP99) ? worstP99 < TARGET_ASSIGN_P99_MS : null,
      detail: worst ? `p99 ${fmtLatency(worstP99)} at ${worst.sidecars} sidecar(s); ${dispatch.map((r) => `${r.sidecars}: ${fmtLatency(r.latency.assign.p99)}`).join(', ')}` : 'not measured',
    },
    {
      name: `${fmtNum(TARGET_IDLE_SIDECARS)} idle sidecars under ${fmtBytes(TARGET_IDLE_RSS_BYTES)} hub RSS`,
      pass: idle && reached ? idle.peak < TARGET_IDLE_RSS_BYTES : null,
      detail: !idle
        ? 'not measured (BENCH_IDLE_SIDECARS=0)'
        : reached
          ? `peak ${fmtBytes(idle.peak)}, ${fmtBytes(idle.rssAfter)} at the end of the window`
          : `only ${fmtNum(idle.connect.connected)} of ${fmtNum(TARGET_IDLE_SIDECARS)} connected (${idle.connect.firstError ?? `BENCH_IDLE_SIDECARS=${idle.wanted}`}); peak ${fmtBytes(idle.peak)}`,
    },
  ];
}

/** The fsync'd batch's figures per round, and the one the target uses: the median of the rounds' medians. */
function printFsync(runs: LatencySummary[]): LatencySummary {
  out();
  out("One fsync'd LevelDB batch (the 8 key writes of a create placed at once: two records, two events, index keys),");
  out('one at a time, on the disk of the hubs\' data folders; measured once per round:');
  printTable(
    ['round', 'p50', 'p90', 'p99', 'max'],
    runs.map((r, i) => [String(i + 1), fmtLatency(r.p50), fmtLatency(r.p90), fmtLatency(r.p99), fmtLatency(r.max)]),
  );
  const byP50 = [...runs].sort((a, b) => a.p50 - b.p50);
  return byP50[Math.floor((byP50.length - 1) / 2)]!;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

type AbRun = { round: number; build: 'this' | 'base'; rows: DispatchRow[] };

/** Per fleet size: this build against the base, per round and as the median of the rounds' ratios. */
function abSummary(
  ab: AbRun[],
): Array<{ sidecars: number; ratios: number[]; cyclesThis: number[]; cyclesBase: number[]; cpuThis: number[]; cpuBase: number[]; allCpuThis: number[]; mainCpuThis: number[] }> {
  const sizes = [...new Set(ab.flatMap((a) => a.rows.map((r) => r.sidecars)))].sort((a, b) => a - b);
  const rounds = [...new Set(ab.map((a) => a.round))];
  return sizes.map((sidecars) => {
    const res = { sidecars, ratios: [] as number[], cyclesThis: [] as number[], cyclesBase: [] as number[], cpuThis: [] as number[], cpuBase: [] as number[], allCpuThis: [] as number[], mainCpuThis: [] as number[] };
    for (const round of rounds) {
      const t = ab.find((a) => a.round === round && a.build === 'this')?.rows.find((r) => r.sidecars === sidecars);
      const b = ab.find((a) => a.round === round && a.build === 'base')?.rows.find((r) => r.sidecars === sidecars);
      if (!t || !b) continue;
      res.ratios.push(t.cycles.perSecond / b.cycles.perSecond);
      res.cyclesThis.push(t.cycles.perSecond);
      res.cyclesBase.push(b.cycles.perSecond);
      res.cpuThis.push(cpuPerCycleUs(t));
      res.cpuBase.push(cpuPerCycleUs(b));
      res.allCpuThis.push(cpuPerCycleUs(t, 'all'));
      res.mainCpuThis.push(cpuPerCycleUs(t, 'main'));
    }
    return res;
  });
}

function printAb(ab: AbRun[], cfg: DispatchConfig): void {
  out();
  out(`A/B: this build against BENCH_BASE=${cfg.base}, ${cfg.rounds} round(s), interleaved (odd rounds this build first, even rounds the base first)`);
  printTable(
    ['round', 'build', ...ab[0]!.rows.flatMap((r) => [`cycles/s @${r.sidecars}`, `CPU/cycle @${r.sidecars}`]), 'assign p99 (worst)'],
    ab.map((a) => [
      String(a.round),
      a.build,
      ...a.rows.flatMap((r) => [fmtNum(r.cycles.perSecond), `${fmtNum(cpuPerCycleUs(r))} us`]),
      fmtLatency(Math.max(...a.rows.map((r) => r.latency.assign.p99))),
    ]),
  );
  out();
  out('Ratio this / base per round (cycles/s), and the median of those ratios:');
  printTable(
    ['sidecars', 'per round', 'median ratio', 'median cycles/s this', 'median cycles/s base', 'median CPU/cycle this', 'base'],
    abSummary(ab).map((s) => [
      String(s.sidecars),
      s.ratios.map(fmtRatio).join(' '),
      fmtRatio(median(s.ratios)),
      fmtNum(median(s.cyclesThis)),
      fmtNum(median(s.cyclesBase)),
      `${fmtNum(median(s.cpuThis))} us`,
      `${fmtNum(median(s.cpuBase))} us`,
    ]),
  );
}

function abTargets(ab: AbRun[], cores: number): Target[] {
  if (!ab.some((a) => a.build === 'base')) return [];
  return abSummary(ab).map((s) => {
    const m = median(s.ratios);
    const want = s.sidecars === 100 ? TARGET_RATIO_AT_100 : 1;
    let detail = `median ${fmtRatio(m)}; rounds ${s.ratios.map(fmtRatio).join(', ')}`;
    if (s.sidecars === 100) {
      // What the target asks of this machine: the hub and the fleet share its cores, so the
      // target's cycles/s cost at most cores / cycles of CPU each, all processes together.
      const needed = TARGET_RATIO_AT_100 * median(s.cyclesBase);
      detail += `; ${fmtNum(needed)} cycles/s on ${cores} cores leaves at most ${fmtNum((cores * 1e6) / needed)} us of CPU per cycle (hub and fleet); this build spends ${fmtNum(median(s.allCpuThis))} us`;
      // And on any machine: the hub's one JavaScript thread must fit every cycle into a second.
      const mainUs = median(s.mainCpuThis);
      detail += `; on any machine it leaves the hub's JavaScript thread at most ${fmtNum(1e6 / needed)} us per cycle; this build's spends ${fmtNum(mainUs)} us (at most ${fmtNum(1e6 / mainUs)} cycles/s on any number of cores)`;
    }
    return {
      name: s.sidecars === 100 ? `at 100 sidecars, cycles/s >= ${TARGET_RATIO_AT_100}x the base build's (median of rounds)` : `at ${s.sidecars} sidecar(s), cycles/s not lower than the base build's (median of rounds)`,
      pass: Number.isFinite(m) ? m >= want : null,
      detail,
    };
  });
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const started = clock();
  const cfg = configFromEnv(process.env);
  cleanUpOnExit();
  const machine = machineInfo();
  out('Dispatch bench: a real hub, simulated sidecars over real WebSockets (npm run bench:dispatch)');
  printMachine(machine);
  const fleet = FleetProcess.start();
  try {
    const { fdLimit } = await fleet.call<LimitsResult>({ cmd: 'limits' });
    printSetup(cfg, { bench: fdLimitOf('self'), fleet: fdLimit });

    const base = await baseline(cfg, fleet);
    printBaseline(base, cfg);

    let rows: DispatchRow[] = [];
    const fsyncs: LatencySummary[] = [];
    const ab: Array<{ round: number; build: 'this' | 'base'; rows: DispatchRow[] }> = [];
    const baseCli = cfg.base ? path.resolve(cfg.base, 'dist/cli/switchyard.js') : undefined;
    if (baseCli && !existsSync(baseCli)) throw new Error(`BENCH_BASE: ${baseCli} does not exist (build the base checkout first: npm run build there)`);
    for (let round = 1; round <= cfg.rounds; round++) {
      progress(`round ${round}/${cfg.rounds}: one fsync'd LevelDB batch, ${cfg.fsyncSamples} samples`);
      fsyncs.push(await fsyncBatchLatency(cfg.fsyncSamples, cfg.dir));
      // Interleaved, the first build alternating: a drift of the machine's load hits both alike.
      const order: Array<'this' | 'base'> = !baseCli ? ['this'] : round % 2 === 1 ? ['this', 'base'] : ['base', 'this'];
      for (const build of order) {
        const r = await dispatchPhase(cfg, fleet, build === 'base' ? baseCli : undefined);
        ab.push({ round, build, rows: r });
        if (build === 'this') rows = r;
      }
    }
    printDispatch(rows, base, cfg, machine.cores);
    const fsync = printFsync(fsyncs);
    if (baseCli) printAb(ab, cfg);

    let idle: IdleResult | null = null;
    if (cfg.idleSidecars > 0) {
      idle = await idlePhase(cfg, fleet);
      printIdle(idle, cfg);
    }

    out();
    out('Targets (information only: the bench exits 0 either way)');
    printTargets([...targets(rows, idle, fsync), ...abTargets(ab, machine.cores)]);
    if (cfg.cpuProfDir) out(`\nhub CPU profiles written to ${cfg.cpuProfDir}`);
    out(`\ntotal ${fmtMs(clock() - started)}`);
  } finally {
    await fleet.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    progressDone();
    process.stderr.write(`bench:dispatch failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
