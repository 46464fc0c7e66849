/**
 * Routing bench: what placing one task costs with the router (docs/routing.md), by fleet size and
 * queue depth.
 *
 *   npm run bench:routing
 *   BENCH_AGENTS=1,100 BENCH_QUEUED=1000 BENCH_RUNS=500 npm run bench:routing      (a quick run)
 *
 * 1. For each queue depth (BENCH_QUEUED, default 1,000 and 1,000,000): a LevelDB store (writes
 *    not fsync'd: the disk is the queue bench's subject, not this one's) prefilled with that many
 *    routed tasks of every tier, queued.
 * 2. For each fleet size (BENCH_AGENTS, default 1, 100, 10,000): that many connected agents in
 *    the registry, each with Ollama models of three sizes (a third warm), a GPU with 8–80 GB of
 *    which some is in use, a load and slots; a tenth also have Claude. Their route capabilities
 *    are computed as a heartbeat computes them.
 * 3. BENCH_RUNS times (default 1,000; a tenth of it at 10,000 agents): create a routed task
 *    (not timed), then time Scheduler.place(): the scan of the free agents, the fit and score of
 *    each that offers its candidate, the decision written in the lease's own change. Baseline,
 *    in the same run and fleet: the same placement of a task that names its executor (the
 *    least-loaded rule, no router) — the ratio says what routing adds.
 *    The decision alone (choose the agent, its decision; no store write) is timed apart from
 *    the whole place(), whose tail is the store's serial path (the same for the baseline).
 * 4. The same fleet with every slot taken (each agent's slots reserved, as lease requests in
 *    flight hold them): the time to find that no agent is free, per queued task — what placing
 *    costs while a busy fleet works through a backlog (issue 16: placement walks the agents that
 *    may have a slot, not every agent).
 * 5. Targets, on the decision: p99 <= 1 ms at 100 agents; p99 <= 10 ms at 10,000; the p50 at the
 *    deepest queue within 1.5x of the shallowest (cost does not grow with queued tasks).
 *    Informational: exits 0.
 */
import { pino } from 'pino';
import type { ExecutorAdvert, HostResources } from '../shared/protocol.js';
import type { TaskSpec } from '../shared/task.js';
import { AgentRegistry } from '../hub/agents/registry.js';
import { DEFAULT_POLICY, validatePolicy } from '../hub/routing/policy.js';
import { Router } from '../hub/routing/router.js';
import { Scheduler } from '../hub/scheduler/scheduler.js';
import { openKvTaskStore, type KvTaskStore } from '../hub/store/kv-task-store.js';
import type { Kv } from '../hub/store/kv.js';
import { openLevelKv } from '../hub/store/level-kv.js';
import { tempDir } from './support/temp.js';
import { machineInfo } from './support/machine.js';
import { rng } from './support/rng.js';
import { fmtLatency, summarize, type LatencySummary } from './support/percentiles.js';
import { fmtNum, fmtRatio, out, printMachine, printTable, printTargets, progress, progressDone } from './support/report.js';

function ints(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  return raw.split(',').map((x) => {
    const v = Number(x.replace(/_/g, ''));
    if (!(v > 0)) throw new Error(`${name} must be positive numbers, got '${raw}'`);
    return v;
  });
}

const AGENTS = ints('BENCH_AGENTS', [1, 100, 10_000]);
const QUEUED = ints('BENCH_QUEUED', [1000, 1_000_000]);
const RUNS = ints('BENCH_RUNS', [1000])[0]!;
const GB = 1024 ** 3;
const SMALL = 'qwen2.5-coder:7b';
const MEDIUM = 'qwen2.5-coder:14b';
const LARGE = 'qwen2.5-coder:32b';
const silent = pino({ enabled: false });
const WARMUP = 200;

const TITLES = ['fix a typo in the readme', 'add a flag to the cli', 'refactor the scheduler', 'implement the parser', 'bump the version'];

async function prefill(store: KvTaskStore, n: number, rand: () => number): Promise<void> {
  const batch = 5000;
  for (let done = 0; done < n; done += batch) {
    const specs: TaskSpec[] = [];
    for (let i = 0; i < Math.min(batch, n - done); i++) specs.push({ title: TITLES[Math.floor(rand() * TITLES.length)]!, description: 'x' });
    await store.createMany(specs, 'bench');
    progress(`prefill ${fmtNum(done + specs.length)} / ${fmtNum(n)}`);
  }
  progressDone();
}

function fleet(registry: AgentRegistry, n: number, rand: () => number): void {
  const conn = { send: () => undefined, close: () => undefined };
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const totalMb = [8_192, 24_576, 49_152, 81_920][Math.floor(rand() * 4)]!;
    const warm = rand() < 0.33 ? [SMALL, MEDIUM, LARGE][Math.floor(rand() * 3)]! : null;
    const executors: ExecutorAdvert[] = [
      {
        name: 'ollama',
        available: true,
        models: [SMALL, MEDIUM, LARGE],
        model_info: [
          { name: SMALL, size_bytes: Math.round(4.7 * GB), loaded: warm === SMALL },
          { name: MEDIUM, size_bytes: Math.round(9 * GB), loaded: warm === MEDIUM },
          { name: LARGE, size_bytes: Math.round(19.9 * GB), loaded: warm === LARGE },
        ],
      },
      { name: 'shell', available: true, models: [] },
    ];
    if (i % 10 === 0) executors.push({ name: 'claude', available: true, models: [] });
    const resources: HostResources = { cpu_count: 16, load_1m: rand() * 16, ram_total_mb: 65_536, ram_free_mb: 32_768, gpus: [{ index: 0, name: 'GPU', vram_total_mb: totalMb, vram_used_mb: Math.round(totalMb * rand() * 0.6) }] };
    // Slots enough that no placement in the run fills an agent (leases are not followed here).
    const { agent } = registry.connect(`agent-${i}`, conn, { capabilities: [], repos: null, executors, maxConcurrency: 1_000_000, resources }, now);
    registry.markReady(agent);
  }
}

async function measure(store: KvTaskStore, scheduler: Scheduler, router: Router, runs: number, spec: TaskSpec): Promise<{ lat: LatencySummary; decide: LatencySummary; placed: number }> {
  const times: number[] = [];
  const decideTimes: number[] = [];
  let placed = 0;
  (globalThis as { gc?: () => void }).gc?.();
  for (let i = 0; i < runs + WARMUP; i++) {
    const { task } = await store.create(spec, 'bench');
    // The decision alone (what routing adds): choose the agent, then the decision that agent makes.
    const d0 = process.hrtime.bigint();
    const chosen = scheduler.chooseAgent(task);
    if (chosen && task.route) router.decide(chosen, task);
    const decideMs = Number(process.hrtime.bigint() - d0) / 1e6;
    const t0 = process.hrtime.bigint();
    await scheduler.place(task);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const after = await store.get(task.id);
    if (after?.status === 'assigned') placed++;
    if (i >= WARMUP) {
      // the first ones warm the JIT
      times.push(ms);
      decideTimes.push(decideMs);
    }
  }
  return { lat: summarize(times), decide: summarize(decideTimes), placed };
}

/** chooseAgent() for tasks that meet a fleet with every slot taken: nothing is chosen. */
function measureBusy(registry: AgentRegistry, scheduler: Scheduler, task: Parameters<Scheduler['chooseAgent']>[0], runs: number): LatencySummary {
  for (const agent of registry.values()) agent.reserved += agent.maxConcurrency;
  const times: number[] = [];
  for (let i = 0; i < runs + WARMUP; i++) {
    const t0 = process.hrtime.bigint();
    const chosen = scheduler.chooseAgent(task);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (chosen) throw new Error(`a busy fleet offered ${chosen.id}`);
    if (i >= WARMUP) times.push(ms);
  }
  for (const agent of registry.values()) {
    agent.reserved -= agent.maxConcurrency;
    registry.slotReleased(agent);
  }
  return summarize(times);
}

interface Row {
  queued: number;
  agents: number;
  /** chooseAgent() on the same fleet with every slot taken (a task that names its executor). */
  busy: LatencySummary;
  /** Choosing the agent and its decision, no store write. */
  decide: LatencySummary;
  baseDecide: LatencySummary;
  /** Scheduler.place(): the same plus the lease written on the store's serial path. */
  routed: LatencySummary;
  baseline: LatencySummary;
  placed: number;
  runs: number;
}

async function main(): Promise<void> {
  printMachine(machineInfo());
  out(`runs per case: ${fmtNum(RUNS)} (${fmtNum(Math.max(50, Math.round(RUNS / 10)))} at 10,000 agents), after ${WARMUP} to warm up`);
  const rows: Row[] = [];
  const policy = validatePolicy(DEFAULT_POLICY);
  for (const queued of QUEUED) {
    const rand = rng(12);
    // LevelDB without fsync: the disk is the queue bench's subject; here it would only add its noise to both sides.
    const kv = await openLevelKv(tempDir('bench-routing'));
    const unsynced: Kv = Object.assign(Object.create(kv) as Kv, { write: (ops: Parameters<Kv['write']>[0]) => kv.write(ops, false) });
    const store = await openKvTaskStore(unsynced, { autoSweep: false });
    store.setRoutingPolicy(policy);
    await prefill(store, queued, rand);
    for (const agents of AGENTS) {
      const registry = new AgentRegistry();
      const scheduler = new Scheduler(store, registry, silent);
      const router = new Router(store, registry, { staleMs: 3_600_000 }, silent);
      router.setPolicy(policy);
      registry.setRouteOffer((a) => router.offerOf(a));
      scheduler.setRouter(router);
      fleet(registry, agents, rand);
      const runs = agents >= 10_000 ? Math.max(50, Math.round(RUNS / 10)) : RUNS;
      progress(`queued ${fmtNum(queued)}, agents ${fmtNum(agents)}: routed`);
      const routed = await measure(store, scheduler, router, runs, { title: 'implement the parser', description: 'x' });
      progress(`queued ${fmtNum(queued)}, agents ${fmtNum(agents)}: baseline`);
      const baseline = await measure(store, scheduler, router, runs, { title: 'build', executor: 'shell', command: 'make' });
      progress(`queued ${fmtNum(queued)}, agents ${fmtNum(agents)}: busy fleet`);
      const { task: probe } = await store.create({ title: 'build', executor: 'shell', command: 'make' }, 'bench');
      const busy = measureBusy(registry, scheduler, probe, runs);
      progressDone();
      rows.push({ queued, agents, busy, decide: routed.decide, baseDecide: baseline.decide, routed: routed.lat, baseline: baseline.lat, placed: Math.min(routed.placed, baseline.placed), runs });
    }
    await store.close();
  }
  out();
  out('The decision (choose the agent among the free ones, fit and score, the decision with its reasons; no store write):');
  printTable(
    ['queued', 'agents', 'routed p50', 'routed p99', 'baseline p50', 'baseline p99', 'p99 ratio'],
    rows.map((r) => [fmtNum(r.queued), fmtNum(r.agents), fmtLatency(r.decide.p50), fmtLatency(r.decide.p99), fmtLatency(r.baseDecide.p50), fmtLatency(r.baseDecide.p99), fmtRatio(r.decide.p99 / r.baseDecide.p99)]),
  );
  out();
  out("Scheduler.place() whole (the decision, then the lease written on the store's serial path, LevelDB without fsync):");
  printTable(
    ['queued', 'agents', 'routed p50', 'routed p99', 'baseline p50', 'baseline p99', 'p99 ratio', 'all placed'],
    rows.map((r) => [fmtNum(r.queued), fmtNum(r.agents), fmtLatency(r.routed.p50), fmtLatency(r.routed.p99), fmtLatency(r.baseline.p50), fmtLatency(r.baseline.p99), fmtRatio(r.routed.p99 / r.baseline.p99), r.placed === r.runs + WARMUP ? 'yes' : `${r.placed}/${r.runs + WARMUP}`]),
  );
  out('  routed: a task that names no executor or model, placed by the router; baseline: one naming its executor (least loaded, no router)');
  out();
  out('A queued task meeting the same fleet with every slot taken (finding that no agent is free; the backlog case):');
  printTable(
    ['queued', 'agents', 'p50', 'p99', 'max'],
    rows.map((r) => [fmtNum(r.queued), fmtNum(r.agents), ...[r.busy.p50, r.busy.p99, r.busy.max].map((ms) => `${(ms * 1000).toFixed(1)} us`)]),
  );
  out();
  const at = (agents: number) => rows.filter((r) => r.agents === agents);
  const worst = (rs: Row[], pick: (r: Row) => number) => Math.max(...rs.map(pick));
  const decideP99 = (r: Row) => r.decide.p99;
  const placeP99 = (r: Row) => r.routed.p99;
  const targets = [];
  if (at(100).length) targets.push({ name: 'decision p99 <= 1 ms at 100 agents', pass: worst(at(100), decideP99) <= 1, detail: `worst p99 ${fmtLatency(worst(at(100), decideP99))} (with the lease write: ${fmtLatency(worst(at(100), placeP99))})` });
  if (at(10_000).length) targets.push({ name: 'decision p99 <= 10 ms at 10,000 agents', pass: worst(at(10_000), decideP99) <= 10, detail: `worst p99 ${fmtLatency(worst(at(10_000), decideP99))} (with the lease write: ${fmtLatency(worst(at(10_000), placeP99))})` });
  const lo = Math.min(...QUEUED);
  const hi = Math.max(...QUEUED);
  if (lo !== hi) {
    // p50: the p99 of a thousand runs is one run's hiccup (a GC, the other core busy); the median says what the depth costs.
    const ratios = AGENTS.map((a) => {
      const small = rows.find((r) => r.agents === a && r.queued === lo)!;
      const big = rows.find((r) => r.agents === a && r.queued === hi)!;
      return big.decide.p50 / small.decide.p50;
    });
    const maxRatio = Math.max(...ratios);
    targets.push({ name: `cost does not grow with queued tasks (decision p50 at ${fmtNum(hi)} within 1.5x of ${fmtNum(lo)})`, pass: maxRatio <= 1.5, detail: `ratios by fleet size (${AGENTS.map(fmtNum).join(', ')} agents): ${ratios.map((r) => fmtRatio(r)).join(', ')}` });
  }
  printTargets(targets);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
