/**
 * Queue bench: how fast the hub's durable task queue is against the disk it sits on.
 *
 *   npm run bench:queue
 *   BENCH_DEPTHS=1000,100000 BENCH_SECONDS=2 npm run bench:queue      (a quick run)
 *
 * 1. Raw baseline: LevelDB itself (through `level`), fsync'd batches of 100 puts of a typical task
 *    record, one batch at a time, written both ways `level` offers (an array batch and a chained
 *    batch); the faster is the baseline. Also single fsync'd puts, for reference.
 * 2. Warm-up: a short run on a scratch store, so that the first depth is not measured on cold JIT.
 * 3. For each queue depth: a fresh store prefilled to that many queued tasks, then
 *    - full cycles/s: create -> leaseNext -> accept -> complete, every step awaited (durable), in
 *      many concurrent loops so that group commit can batch them. FIFO leases the oldest
 *      (prefilled) tasks, so this measures leasing at depth; the depth stays constant.
 *    - durable enqueues/s: store.create from many concurrent callers, each awaited;
 *    - RSS after the prefill, and the time to reopen the store and serve the first lease.
 *    Each rate comes with the main thread's CPU time per operation: the store's serial path runs
 *    there, so that figure holds steady on a busy machine when the rates do not.
 * 4. Interleaved rounds (BENCH_ROUNDS, default 3): each depth's store is reopened in turn (the
 *    order alternating per round) for a short cycles window, so that the ratio of the largest
 *    depth to the smallest is taken from windows seconds apart, not minutes: on a shared machine
 *    the load moves more between depths than the depth costs. One store is open at a time (the
 *    other's memory is freed first), so neither window pays for the other's heap. Likewise each
 *    depth's enqueues are read against a raw chained-batch window measured just before them.
 * 5. The targets, PASS or MISS. Informational: the bench exits 0 either way.
 *
 * Figures depend on the machine and how busy it is; docs/benchmarks.md says how to read them.
 */
import { Level } from 'level';
import type { TaskSpec } from '../shared/task.js';
import { openTaskStore } from '../hub/store/level-task-store.js';
import type { AgentFilter, TaskStore } from '../hub/store/task-store.js';
import { DEFAULT_TASK_DEFAULTS, newTaskRecord, validateSpec } from '../hub/queue/normalize.js';
import { machineInfo } from './support/machine.js';
import {
  fmtBytes,
  fmtMs,
  fmtNum,
  fmtRatio,
  out,
  printMachine,
  printTable,
  printTargets,
  progress,
  progressDone,
  type Target,
} from './support/report.js';
import { cleanUpOnExit, removeDir, tempDir } from './support/temp.js';
import { clock, collectGarbage, runFor, timed, type Measured } from './support/timing.js';
import { intList } from './support/env.js';

// ---------------------------------------------------------------- config

interface BenchConfig {
  /** Queue depths to measure at. @defaultValue [1000, 100000, 1000000] */
  depths: number[];
  /** Length of each timed measurement. @defaultValue 4 */
  seconds: number;
  /** Concurrent store.create callers. @defaultValue 1000 */
  enqueueConcurrency: number;
  /** Concurrent create -> lease -> accept -> complete loops. @defaultValue 500 */
  cycleConcurrency: number;
  /** Tasks per createMany while prefilling. @defaultValue 1000 */
  prefillBatch: number;
  /** Where the temp stores go. @defaultValue os.tmpdir() */
  dir: string | undefined;
  /** Interleaved rounds of cycles over every depth (see the header). 0 skips them. @defaultValue 3 */
  rounds: number;
  /** Length of each interleaved cycles window. @defaultValue 2 */
  roundSeconds: number;
}

function positive(name: string, raw: string | undefined, fallback: number, integer = true): number {
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!(v > 0) || (integer && !Number.isInteger(v))) throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got '${raw}'`);
  return v;
}

function configFromEnv(env: NodeJS.ProcessEnv): Readonly<BenchConfig> {
  return Object.freeze({
    depths: intList('BENCH_DEPTHS', env.BENCH_DEPTHS ?? '1000,100000,1000000').sort((a, b) => a - b),
    seconds: positive('BENCH_SECONDS', env.BENCH_SECONDS, 4, false),
    enqueueConcurrency: positive('BENCH_ENQUEUE_CONCURRENCY', env.BENCH_ENQUEUE_CONCURRENCY, 1000),
    cycleConcurrency: positive('BENCH_CYCLE_CONCURRENCY', env.BENCH_CYCLE_CONCURRENCY, 500),
    prefillBatch: positive('BENCH_PREFILL_BATCH', env.BENCH_PREFILL_BATCH, 1000),
    dir: env.BENCH_DIR || undefined,
    rounds: env.BENCH_ROUNDS === '0' ? 0 : positive('BENCH_ROUNDS', env.BENCH_ROUNDS, 3),
    roundSeconds: positive('BENCH_ROUND_SECONDS', env.BENCH_ROUND_SECONDS, 2, false),
  });
}

// ---------------------------------------------------------------- workload

/**
 * A typical task as a client submits it: a title, the capability it needs and an executor; the
 * store fills in the rest. Its stored record is about 740 bytes of JSON (most of it the fields
 * every record carries).
 */
function taskSpec(i: number): TaskSpec {
  return {
    title: `Fix flaky retry test in sidecar executor #${i}`,
    capabilities: ['node'],
    executor: 'claude',
  };
}

const agentOf = (w: number): AgentFilter => ({ agentId: `bench-agent-${w}`, capabilities: ['node', 'git'], repos: null });

/** The record the store writes for taskSpec(0): the value size the raw baseline uses. */
function typicalRecordJson(): string {
  const now = Date.now();
  const record = newTaskRecord(validateSpec(taskSpec(0)), '01JBENCH000000000000000000', [], 'bench', now, DEFAULT_TASK_DEFAULTS);
  return JSON.stringify({ ...record, status: 'queued', queued_at: now });
}

// ---------------------------------------------------------------- raw baseline

interface RawBaseline {
  /** db.batch(array of 100 puts, { sync: true }). */
  arrayBatch: Measured;
  /** db.batch().put() x 100 .write({ sync: true }). */
  chainedBatch: Measured;
  /** Records/s of the faster form: the baseline the targets use. */
  recordsPerSecond: number;
  single: Measured;
}

async function rawBaseline(cfg: BenchConfig, value: string): Promise<RawBaseline> {
  const dir = tempDir('sy-bench-raw', cfg.dir);
  const db = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  try {
    let n = 0;
    const key = () => `t!${String(n++).padStart(26, '0')}`;
    // One batch at a time: the rate one writer gets from an fsync'd LevelDB. `sync` is
    // classic-level's option; abstract-level's types omit it.
    const array = async (): Promise<void> => {
      const ops = Array.from({ length: 100 }, () => ({ type: 'put' as const, key: key(), value }));
      await db.batch(ops, { sync: true } as object);
    };
    const chained = async (): Promise<void> => {
      const batch = db.batch();
      for (let i = 0; i < 100; i++) batch.put(key(), value);
      await batch.write({ sync: true } as object);
    };
    // Warm both paths first: measured cold, the first form would pay for the JIT.
    await runFor(1, 500, array);
    await runFor(1, 500, chained);
    const arrayBatch = await runFor(1, cfg.seconds * 1000, array);
    const chainedBatch = await runFor(1, cfg.seconds * 1000, chained);
    const single = await runFor(1, Math.min(cfg.seconds, 2) * 1000, async () => {
      await db.put(key(), value, { sync: true } as object);
    });
    const recordsPerSecond = Math.max(arrayBatch.perSecond, chainedBatch.perSecond) * 100;
    return { arrayBatch, chainedBatch, recordsPerSecond, single };
  } finally {
    await db.close();
    removeDir(dir);
  }
}

/**
 * A short window of the raw baseline's faster form (chained batches of 100 puts, fsync'd, one at a
 * time), in records/s: measured just before a depth's enqueues, so that both see the same disk.
 */
async function rawChainedNow(cfg: BenchConfig, value: string, seconds: number): Promise<number> {
  const dir = tempDir('sy-bench-raw-now', cfg.dir);
  const db = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  try {
    let n = 0;
    const chained = async (): Promise<void> => {
      const batch = db.batch();
      for (let i = 0; i < 100; i++) batch.put(`t!${String(n++).padStart(26, '0')}`, value);
      await batch.write({ sync: true } as object);
    };
    await runFor(1, 200, chained);
    return (await runFor(1, seconds * 1000, chained)).perSecond * 100;
  } finally {
    await db.close();
    removeDir(dir);
  }
}

// ---------------------------------------------------------------- store phases

/** Fills the store with `depth` queued tasks, `batch` per createMany, two batches in flight. */
async function prefill(store: TaskStore, depth: number, batch: number): Promise<number> {
  const start = clock();
  let next = 0;
  let done = 0;
  let lastReport = 0;
  const worker = async (): Promise<void> => {
    while (next < depth) {
      const from = next;
      const n = Math.min(batch, depth - from);
      next += n;
      await store.createMany(Array.from({ length: n }, (_, k) => taskSpec(from + k)), 'bench');
      done += n;
      const t = clock();
      if (t - lastReport > 1000 || done === depth) {
        lastReport = t;
        const rate = (done * 1000) / (t - start);
        const left = rate > 0 ? (depth - done) / rate : 0;
        progress(`  prefill ${fmtNum(done)} / ${fmtNum(depth)}  (${fmtNum(rate)} tasks/s, ~${left.toFixed(0)} s left)`);
      }
    }
  };
  // Two in flight: one batch is prepared while the other is written.
  await Promise.all([worker(), worker()]);
  progressDone();
  return clock() - start;
}

async function cycles(store: TaskStore, cfg: BenchConfig): Promise<Measured> {
  let i = 0;
  return runFor(cfg.cycleConcurrency, cfg.seconds * 1000, async (w) => {
    const agent = agentOf(w);
    await store.create(taskSpec(i++), 'bench');
    const task = await store.leaseNext(agent);
    if (!task) throw new Error('bench: leaseNext found the queue empty; the store lost a task');
    await store.accept(task.id, task.generation, agent.agentId);
    await store.complete(task.id, task.generation, agent.agentId, { ok: true });
  });
}

async function enqueues(store: TaskStore, cfg: BenchConfig): Promise<Measured> {
  let i = 0;
  return runFor(cfg.enqueueConcurrency, cfg.seconds * 1000, async () => {
    await store.create(taskSpec(i++), 'bench');
  });
}

/** Runs cycles and enqueues briefly on a scratch store: JIT and caches warm before measuring. */
async function warmUp(cfg: BenchConfig): Promise<void> {
  const dir = tempDir('sy-bench-warmup', cfg.dir);
  const store = await openTaskStore(dir, { autoSweep: false });
  try {
    const short = { ...cfg, seconds: Math.min(1, cfg.seconds / 2) };
    await prefill(store, 1000, cfg.prefillBatch);
    progress('  warm-up...');
    await cycles(store, short);
    await enqueues(store, short);
    progressDone();
  } finally {
    await store.close();
    removeDir(dir);
  }
}

interface DepthResult {
  depth: number;
  /** Where its store is (kept for the interleaved rounds). */
  dir: string;
  /** Raw chained-batch records/s measured just before the enqueues. */
  rawNow: number;
  prefillMs: number;
  cycles: Measured;
  enqueues: Measured;
  memory: NodeJS.MemoryUsage;
  /** Tasks queued when the store was closed for the reopen. */
  queuedAtReopen: number;
  reopenMs: number;
  /** openTaskStore alone, part of reopenMs. */
  openMs: number;
  rssAfterReopenBytes: number;
}

const queuedCount = async (store: TaskStore): Promise<number> => {
  const q = (await store.stats()).queued;
  return q.urgent + q.high + q.normal + q.low;
};

async function atDepth(cfg: BenchConfig, depth: number, record: string): Promise<DepthResult> {
  const dir = tempDir(`sy-bench-queue-${depth}`, cfg.dir);
  // No timers: nothing expires within a bench run, and sweeps would only add noise.
  let store = await openTaskStore(dir, { autoSweep: false });
  try {
    out(`depth ${fmtNum(depth)}`);
    const prefillMs = await prefill(store, depth, cfg.prefillBatch);
    out(`  prefill         ${fmtNum(depth)} tasks in ${fmtMs(prefillMs)} (${fmtNum((depth * 1000) / prefillMs)} tasks/s, createMany x ${cfg.prefillBatch})`);
    collectGarbage();
    const mem = process.memoryUsage();
    out(`  memory          RSS ${fmtBytes(mem.rss)}; JS heap used ${fmtBytes(mem.heapUsed)} of ${fmtBytes(mem.heapTotal)}; external ${fmtBytes(mem.external)}`);

    // Cycles first: they keep the depth constant; enqueues then grow it.
    const c = await cycles(store, cfg);
    out(`  cycles          ${fmtNum(c.perSecond)} /s  (${fmtNum(c.count)} in ${fmtMs(c.elapsedMs)}, ${cfg.cycleConcurrency} loops; main-thread CPU ${fmtNum(c.cpuUsPerOp)} us/cycle)`);
    const afterCycles = await queuedCount(store);
    if (afterCycles !== depth) out(`  WARNING: ${fmtNum(afterCycles)} queued after the cycles, expected ${fmtNum(depth)}`);
    collectGarbage();
    progress('  raw chained batches just before the enqueues...');
    const rawNow = await rawChainedNow(cfg, record, Math.min(2, cfg.seconds));
    progressDone();
    out(`  raw now         ${fmtNum(rawNow)} records/s (chained batches of 100, fsync'd, measured just before the enqueues)`);
    const e = await enqueues(store, cfg);
    out(`  enqueues        ${fmtNum(e.perSecond)} /s  (${fmtNum(e.count)} in ${fmtMs(e.elapsedMs)}, ${cfg.enqueueConcurrency} callers; main-thread CPU ${fmtNum(e.cpuUsPerOp)} us/enqueue)`);
    const queued = await queuedCount(store);
    if (queued !== depth + e.count) out(`  WARNING: ${fmtNum(queued)} queued after the enqueues, expected ${fmtNum(depth + e.count)}`);

    await store.close();
    collectGarbage();
    const agent = agentOf(0);
    let openMs = 0;
    const reopen = await timed(async () => {
      const opened = await timed(() => openTaskStore(dir, { autoSweep: false }));
      openMs = opened.ms;
      store = opened.value;
      const first = await store.leaseNext(agent);
      if (!first) throw new Error('bench: the reopened store has nothing to lease');
      return first;
    });
    const rssAfterReopen = process.memoryUsage().rss;
    out(`  reopen          ${fmtMs(reopen.ms)} to the first lease with ${fmtNum(queued)} queued (open ${fmtMs(openMs)}); RSS ${fmtBytes(rssAfterReopen)}`);
    out();
    return {
      depth,
      dir,
      rawNow,
      prefillMs,
      cycles: c,
      enqueues: e,
      memory: mem,
      queuedAtReopen: queued,
      reopenMs: reopen.ms,
      openMs,
      rssAfterReopenBytes: rssAfterReopen,
    };
  } finally {
    await store.close();
    // Kept for the interleaved rounds when there are any (removed at the end, or on exit).
    if (cfg.rounds === 0) removeDir(dir);
  }
}

interface RoundResult {
  round: number;
  /** Cycles/s per depth in this round. */
  perSecond: Map<number, number>;
  cpuUs: Map<number, number>;
}

/** Each depth's store reopened in turn for a short cycles window; see the header, step 4. */
async function interleaved(cfg: BenchConfig, depths: DepthResult[]): Promise<RoundResult[]> {
  const rounds: RoundResult[] = [];
  const short = { ...cfg, seconds: cfg.roundSeconds };
  for (let round = 1; round <= cfg.rounds; round++) {
    const order = round % 2 === 1 ? depths : [...depths].reverse();
    const r: RoundResult = { round, perSecond: new Map(), cpuUs: new Map() };
    for (const d of order) {
      progress(`  round ${round}/${cfg.rounds}: cycles at ${fmtNum(d.depth)} queued`);
      collectGarbage();
      const store = await openTaskStore(d.dir, { autoSweep: false });
      try {
        const c = await cycles(store, short);
        r.perSecond.set(d.depth, c.perSecond);
        r.cpuUs.set(d.depth, c.cpuUsPerOp);
      } finally {
        await store.close();
      }
    }
    rounds.push(r);
  }
  progressDone();
  for (const d of depths) removeDir(d.dir);
  return rounds;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// ---------------------------------------------------------------- targets

function targets(raw: RawBaseline, results: DepthResult[], rounds: RoundResult[]): Target[] {
  const list: Target[] = [];
  const low = results[0]!;
  const high = results[results.length - 1]!;
  const cycleRatio = high.cycles.perSecond / low.cycles.perSecond;
  const roundRatios = rounds.map((r) => r.perSecond.get(high.depth)! / r.perSecond.get(low.depth)!);
  const interleavedRatio = median(roundRatios);
  const judged = rounds.length > 0 ? interleavedRatio : cycleRatio;
  list.push({
    name: `cycles/s at ${fmtNum(high.depth)} queued >= 0.8x cycles/s at ${fmtNum(low.depth)} queued` + (rounds.length > 0 ? ' (median of the interleaved rounds)' : ''),
    pass: results.length < 2 ? null : judged >= 0.8,
    detail:
      (rounds.length > 0 ? `median ${fmtRatio(interleavedRatio)}, rounds ${roundRatios.map(fmtRatio).join(' ')}; ` : '') +
      `the single windows minutes apart: ${fmtNum(high.cycles.perSecond)} vs ${fmtNum(low.cycles.perSecond)} /s = ${fmtRatio(cycleRatio)}`,
  });
  const arrayRecords = raw.arrayBatch.perSecond * 100;
  for (const r of results) {
    const ratio = r.enqueues.perSecond / r.rawNow;
    list.push({
      name: `durable enqueues/s at ${fmtNum(r.depth)} queued >= 0.5x raw chained-batch records/s (measured just before)`,
      pass: ratio >= 0.5,
      // Against the start-of-run baselines too, so that a reader can compare with either.
      detail:
        `${fmtNum(r.enqueues.perSecond)} vs ${fmtNum(r.rawNow)} /s = ${fmtRatio(ratio)}; ` +
        `against the start-of-run chained baseline ${fmtNum(raw.recordsPerSecond)} /s: ${fmtRatio(r.enqueues.perSecond / raw.recordsPerSecond)}, ` +
        `the array-batch form ${fmtNum(arrayRecords)} /s: ${fmtRatio(r.enqueues.perSecond / arrayRecords)}`,
    });
  }
  const million = results.find((r) => r.depth >= 1_000_000);
  list.push({
    name: 'reopen with 1M tasks until the first lease < 5 s',
    pass: million ? million.reopenMs < 5000 : null,
    detail: million
      ? `${fmtMs(million.reopenMs)} with ${fmtNum(million.queuedAtReopen)} queued`
      : 'not measured: no depth of 1,000,000 or more in BENCH_DEPTHS',
  });
  return list;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  let cfg: Readonly<BenchConfig>;
  try {
    cfg = configFromEnv(process.env);
  } catch (err) {
    process.stderr.write(`bench:queue: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  cleanUpOnExit();
  const startedAt = clock();
  const record = typicalRecordJson();

  out('Switchyard queue bench');
  printMachine(machineInfo());
  out(`config:  depths ${cfg.depths.map(fmtNum).join(', ')}; ${cfg.seconds} s per measurement; ` +
    `${cfg.enqueueConcurrency} enqueue callers; ${cfg.cycleConcurrency} cycle loops`);
  out(`record:  ${Buffer.byteLength(record)} bytes of JSON per task (a create writes 4 keys: record, status, ready, event)`);
  out();

  progress('  raw LevelDB baseline...');
  const raw = await rawBaseline(cfg, record);
  progressDone();
  out('raw LevelDB (level, sync: true, one write at a time, 100 puts per batch)');
  out(`  array batch     ${fmtNum(raw.arrayBatch.perSecond)} batches/s = ${fmtNum(raw.arrayBatch.perSecond * 100)} records/s  (main-thread CPU ${fmtNum(raw.arrayBatch.cpuUsPerOp / 100)} us/record)`);
  out(`  chained batch   ${fmtNum(raw.chainedBatch.perSecond)} batches/s = ${fmtNum(raw.chainedBatch.perSecond * 100)} records/s  (main-thread CPU ${fmtNum(raw.chainedBatch.cpuUsPerOp / 100)} us/record)`);
  out(`  baseline        ${fmtNum(raw.recordsPerSecond)} records/s (the faster form)`);
  out(`  single puts     ${fmtNum(raw.single.perSecond)} puts/s`);
  out();

  await warmUp(cfg);

  const results: DepthResult[] = [];
  for (const depth of cfg.depths) results.push(await atDepth(cfg, depth, record));
  const rounds = cfg.rounds > 0 && results.length > 1 ? await interleaved(cfg, results) : [];
  if (cfg.rounds > 0 && results.length <= 1) for (const r of results) removeDir(r.dir);

  out('summary');
  printTable(
    ['queued', 'enqueues/s', 'x raw', 'us CPU', 'cycles/s', 'x raw', 'us CPU', 'x first', 'RSS', 'reopen+lease'],
    results.map((r) => [
      fmtNum(r.depth),
      fmtNum(r.enqueues.perSecond),
      fmtRatio(r.enqueues.perSecond / raw.recordsPerSecond),
      fmtNum(r.enqueues.cpuUsPerOp),
      fmtNum(r.cycles.perSecond),
      fmtRatio(r.cycles.perSecond / raw.recordsPerSecond),
      fmtNum(r.cycles.cpuUsPerOp),
      fmtRatio(r.cycles.perSecond / results[0]!.cycles.perSecond),
      fmtBytes(r.memory.rss),
      fmtMs(r.reopenMs),
    ]),
  );
  out('  us CPU: main-thread CPU time per enqueue / per cycle; x first: cycles/s against the smallest depth');
  if (rounds.length > 0) {
    out();
    out(`interleaved cycles (${cfg.roundSeconds} s windows, each store reopened in turn, order alternating per round)`);
    printTable(
      ['round', ...results.map((r) => `cycles/s @${fmtNum(r.depth)}`), ...results.map((r) => `us CPU @${fmtNum(r.depth)}`), 'largest / smallest'],
      rounds.map((r) => [
        String(r.round),
        ...results.map((d) => fmtNum(r.perSecond.get(d.depth)!)),
        ...results.map((d) => fmtNum(r.cpuUs.get(d.depth)!)),
        fmtRatio(r.perSecond.get(results[results.length - 1]!.depth)! / r.perSecond.get(results[0]!.depth)!),
      ]),
    );
  }
  out(`  raw baseline: ${fmtNum(raw.recordsPerSecond)} records/s (batches of 100), ${fmtNum(raw.single.perSecond)} single puts/s`);
  out();
  out('targets (information only; the bench exits 0 either way)');
  printTargets(targets(raw, results, rounds));
  out();
  out(`total ${fmtMs(clock() - startedAt)}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:queue failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
