/**
 * The fleet process of the dispatch bench (started by bench/dispatch.ts, never by hand): every
 * client the bench needs, in one process apart from the hub's:
 *   - plain ws clients for the ping-pong baseline;
 *   - simulated sidecars (bench/dispatch-sim.ts), connected once per fleet size;
 *   - the task submitter, so that enqueue-to-assign is timed on one clock: from just before the
 *     POST to the moment a sidecar in this same process receives task.assign.
 * It takes one command at a time over IPC and answers each with one result (bench/dispatch-ipc.ts).
 */
import WebSocket from 'ws';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { TaskSpec } from '../shared/task.js';
import { HubHttp } from './dispatch-http.js';
import type {
  ConnectResult,
  CyclesResult,
  FleetCommand,
  FleetReply,
  FleetRequest,
  FleetResult,
  HeartbeatsResult,
  LatencyResult,
  LimitsResult,
  PingPongResult,
} from './dispatch-ipc.js';
import { fdLimitOf } from './dispatch-proc.js';
import { SimSidecar, type SimHooks } from './dispatch-sim.js';
import { summarize } from './support/percentiles.js';
import { fmtNum, progress, progressDone } from './support/report.js';

type Cmd<K extends FleetCommand['cmd']> = Extract<FleetCommand, { cmd: K }>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A no-op task for the shell executor (which the simulated sidecars advertise). */
const TASK: TaskSpec = { title: 'dispatch bench no-op', executor: 'shell', command: 'true' };

// The hooks object is shared by every sidecar; each command sets the callbacks it needs.
const hooks: SimHooks = {};
let fleet: SimSidecar[] = [];
/** Whether heartbeats are followed by a timed ping right now. */
let recordingPings = false;

function send(reply: FleetReply): void {
  process.send!(reply);
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// ---------------------------------------------------------------- ping-pong baseline

async function pingpong(c: Cmd<'pingpong'>, mark: (m: 'start' | 'end') => void): Promise<PingPongResult> {
  const payload = 'x'.repeat(c.payloadBytes);
  const clients: WebSocket[] = [];
  let count = 0;
  let running = true;
  await pool(Array.from({ length: c.clients }), 50, async () => {
    const ws = new WebSocket(c.url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', () => {
      count++;
      if (running) ws.send(payload);
    });
    clients.push(ws);
  });
  for (const ws of clients) for (let k = 0; k < c.inFlight; k++) ws.send(payload);
  await sleep(c.warmupMs);
  mark('start');
  const c0 = count;
  const t0 = performance.now();
  await sleep(c.windowMs);
  const c1 = count;
  const t1 = performance.now();
  mark('end');
  running = false;
  await Promise.all(
    clients.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close();
          setTimeout(() => {
            ws.terminate();
            resolve();
          }, 2000).unref();
        }),
    ),
  );
  return { roundTrips: c1 - c0, elapsedMs: t1 - t0, perSecond: ((c1 - c0) * 1000) / (t1 - t0) };
}

// ---------------------------------------------------------------- the simulated fleet

async function connect(c: Cmd<'connect'>): Promise<ConnectResult> {
  if (fleet.length > 0) throw new Error('a fleet is already connected; disconnect first');
  const start = performance.now();
  let connected = 0;
  let failed = 0;
  let firstError: string | null = null;
  let lastReport = 0;
  const sims: SimSidecar[] = [];
  await pool(c.agents, c.concurrency, async (cred) => {
    const sim = new SimSidecar(cred, c.url, c.maxConcurrency, hooks);
    try {
      await sim.connect();
      sims.push(sim);
      sim.startHeartbeats(() => recordingPings);
      connected++;
    } catch (err) {
      failed++;
      firstError ??= (err as Error).message;
    }
    const now = performance.now();
    if (c.agents.length >= 1000 && (now - lastReport > 1000 || connected + failed === c.agents.length)) {
      lastReport = now;
      progress(`  connecting sidecars: ${fmtNum(connected)} / ${fmtNum(c.agents.length)}${failed ? `, ${failed} failed` : ''}`);
    }
  });
  if (c.agents.length >= 1000) progressDone();
  fleet = sims;
  return { connected, failed, firstError, elapsedMs: performance.now() - start };
}

async function disconnect(): Promise<null> {
  const sims = fleet;
  fleet = [];
  await pool(sims, 500, (sim) => sim.close());
  for (const k of Object.keys(hooks)) delete hooks[k as keyof SimHooks];
  return null;
}

// ---------------------------------------------------------------- full cycles

async function cycles(c: Cmd<'cycles'>, mark: (m: 'start' | 'end') => void): Promise<CyclesResult> {
  if (fleet.length === 0) throw new Error('no fleet connected');
  const http = new HubHttp(c.hubUrl, c.adminToken, 4);
  let posted = 0;
  let assigned = 0;
  let completed = 0;
  let errors = 0;
  let firstError: string | null = null;
  const fail = (message: string) => {
    errors++;
    firstError ??= message;
  };
  hooks.onAssign = () => assigned++;
  hooks.onCompleted = () => completed++;
  hooks.onError = fail;
  let feeding = true;
  const batch = { tasks: Array.from({ length: c.batchSize }, () => TASK) };
  // Two feeders: one batch is written while the next is sent, so the queue never runs dry.
  const feeder = async () => {
    while (feeding) {
      if (posted - assigned >= c.backlog) {
        await sleep(1);
        continue;
      }
      posted += c.batchSize;
      try {
        await http.post('/v1/tasks/batch', batch);
      } catch (err) {
        posted -= c.batchSize;
        fail((err as Error).message);
        await sleep(100);
      }
    }
  };
  const feeders = [feeder(), feeder()];
  await sleep(c.warmupMs);
  mark('start');
  const c0 = completed;
  const t0 = performance.now();
  await sleep(c.windowMs);
  const c1 = completed;
  const t1 = performance.now();
  mark('end');
  feeding = false;
  await Promise.all(feeders);
  const drainStart = performance.now();
  // Until every posted task is completed, the time runs out, or no sidecar is left to do it.
  while (completed < posted && performance.now() - drainStart < c.drainTimeoutMs && fleet.some((s) => !s.closed)) await sleep(5);
  const drainMs = performance.now() - drainStart;
  http.close();
  delete hooks.onAssign;
  delete hooks.onCompleted;
  delete hooks.onError;
  return {
    completed: c1 - c0,
    elapsedMs: t1 - t0,
    perSecond: ((c1 - c0) * 1000) / (t1 - t0),
    posted,
    errors,
    firstError,
    drainMs,
    leftOver: posted - completed,
  };
}

// ---------------------------------------------------------------- enqueue-to-assign

async function latency(c: Cmd<'latency'>): Promise<LatencyResult> {
  if (fleet.length === 0) throw new Error('no fleet connected');
  const http = new HubHttp(c.hubUrl, c.adminToken, 1);
  const assignedAt = new Map<string, number>();
  let waiting: { id: string | null; resolve: (at: number) => void } | null = null;
  const completedAt = new Map<string, number>();
  let firstError: string | null = null;
  hooks.onAssign = (id, at) => assignedAt.set(id, at);
  hooks.onCompleted = (id) => {
    const at = performance.now();
    completedAt.set(id, at);
    if (waiting && waiting.id === id) waiting.resolve(at);
  };
  hooks.onError = (m) => (firstError ??= m);
  const assign: number[] = [];
  const post: number[] = [];
  const done: number[] = [];
  try {
    // One round of POSTs first so that the keep-alive connection is open before the first sample.
    await http.request('GET', '/v1/health');
    for (let i = 0; i < c.warmupSamples + c.samples; i++) {
      const t0 = performance.now();
      const task = await http.post<{ id: string }>('/v1/tasks', TASK);
      const tPost = performance.now();
      const tDone =
        completedAt.get(task.id) ??
        (await new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`task ${task.id} was not completed within 10 s${firstError ? ` (${firstError})` : ''}`)), 10_000);
          waiting = {
            id: task.id,
            resolve: (at) => {
              clearTimeout(timer);
              resolve(at);
            },
          };
        }));
      waiting = null;
      const tAssign = assignedAt.get(task.id);
      if (tAssign === undefined) throw new Error(`task ${task.id} completed without an assignment being seen`);
      if (i >= c.warmupSamples) {
        assign.push(tAssign - t0);
        post.push(tPost - t0);
        done.push(tDone - t0);
      }
      assignedAt.delete(task.id);
      completedAt.delete(task.id);
      // A pause so that the hub has finished what followed the completion (refilling the agent)
      // before the next sample: the fleet is idle when each task arrives.
      await sleep(c.gapMs);
    }
  } finally {
    http.close();
    delete hooks.onAssign;
    delete hooks.onCompleted;
    delete hooks.onError;
  }
  return { assign: summarize(assign), post: summarize(post), done: summarize(done) };
}

// ---------------------------------------------------------------- idle heartbeats

async function heartbeats(c: Cmd<'heartbeats'>, mark: (m: 'start' | 'end') => void): Promise<HeartbeatsResult> {
  if (fleet.length === 0) throw new Error('no fleet connected');
  const rtts: number[] = [];
  hooks.onHeartbeatRtt = (ms) => {
    if (recordingPings) rtts.push(ms);
  };
  const openBefore = fleet.filter((s) => !s.closed).length;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  mark('start');
  recordingPings = true;
  await sleep(c.windowMs);
  recordingPings = false;
  mark('end');
  loop.disable();
  // Pongs still on their way belong to the window: give them a moment.
  await sleep(200);
  delete hooks.onHeartbeatRtt;
  return {
    rtt: summarize(rtts),
    heartbeats: rtts.length,
    clientLoopDelayP99Ms: loop.percentile(99) / 1e6,
    dropped: openBefore - fleet.filter((s) => !s.closed).length,
  };
}

// ---------------------------------------------------------------- command loop

async function runCommand(c: FleetCommand, mark: (m: 'start' | 'end') => void): Promise<FleetResult> {
  switch (c.cmd) {
    case 'limits':
      return { fdLimit: fdLimitOf('self') } satisfies LimitsResult;
    case 'pingpong':
      return pingpong(c, mark);
    case 'connect':
      return connect(c);
    case 'cycles':
      return cycles(c, mark);
    case 'latency':
      return latency(c);
    case 'heartbeats':
      return heartbeats(c, mark);
    case 'disconnect':
      return disconnect();
  }
}

if (!process.send) {
  process.stderr.write('dispatch-fleet is started by bench/dispatch.js (npm run bench:dispatch), not by hand\n');
  process.exit(2);
}

// Commands run one at a time, in order.
let chain: Promise<void> = Promise.resolve();
process.on('message', (raw) => {
  const { id, command } = raw as FleetRequest;
  chain = chain.then(async () => {
    try {
      const result = await runCommand(command, (m) => send({ type: 'mark', id, mark: m }));
      send({ type: 'result', id, ok: true, result });
    } catch (err) {
      send({ type: 'result', id, ok: false, error: (err as Error).stack ?? String(err) });
    }
  });
});
// The bench went away (finished, or died): leave with it.
process.on('disconnect', () => process.exit(0));
