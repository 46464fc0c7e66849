/**
 * Context bench: how long assembling a task's context takes in a repo with a long history, and
 * whether the token budget ever breaks.
 *
 *   npm run bench:context
 *   BENCH_ENTRIES=100000 BENCH_RUNS=2000 BENCH_BUDGET=1500 npm run bench:context
 *
 * 1. Fill one repo's history with BENCH_ENTRIES entries (default 10,000) through HistoryService
 *    (in memory: the store under it is not what is measured): titles of 5–10 words from a
 *    2,000-word vocabulary, 1–6 files of 500 (Zipf-like: some files are touched often), a third
 *    with a review decision, a third with a summary of ~40 words, one in ten dead-lettered.
 * 2. Assemble BENCH_RUNS contexts (default 1,000, after 100 to warm up) for new tasks of the same
 *    shape, with feedback and an answer on one in four, through ContextService.assemble: the
 *    scoring over the index, the section filling, the token count. Time each with hrtime.
 * 3. The start: the same kind of entries, BENCH_START_ENTRIES of them (default 200,000) in one repo
 *    of a real LevelDB agents store, loaded by a new HistoryService (what a hub does when it
 *    starts), against a baseline in the same run: reading and parsing every entry on disk.
 * 4. Targets: p99 <= 20 ms; tokens <= budget in every run. Informational: exits 0.
 */
import { ContextService } from '../hub/context/service.js';
import { HistoryService } from '../hub/history/service.js';
import { join } from 'node:path';
import { openAgentStore } from '../hub/store/agent-store.js';
import { historyStoreOf, type HistoryStore } from '../hub/store/history-store.js';
import type { Task } from '../shared/task.js';
import { machineInfo } from './support/machine.js';
import { rng } from './support/rng.js';
import { summarize } from './support/percentiles.js';
import { fmtMs, fmtNum, fmtRatio, out, printMachine, printTargets, progress, progressDone } from './support/report.js';
import { cleanUpOnExit, removeDir, tempDir } from './support/temp.js';

const TARGET_P99_MS = 20;

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw.replace(/_/g, ''));
  if (!(v > 0)) throw new Error(`${name} must be a positive number, got '${raw}'`);
  return v;
}

const ENTRIES = int('BENCH_ENTRIES', 10_000);
const RUNS = int('BENCH_RUNS', 1000);
const BUDGET = int('BENCH_BUDGET', 1500);
const START_ENTRIES = int('BENCH_START_ENTRIES', 200_000);
const rand = rng(14);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const VOCAB = Array.from({ length: 2000 }, (_, i) => `w${i.toString(36)}${'abcdefghij'[i % 10]}x`);
const FILES = Array.from({ length: 500 }, (_, i) => `src/${['core', 'api', 'ui', 'db', 'cli'][i % 5]}/m${i}.ts`);
/** Zipf-like: low indexes far more often. */
const zipfFile = () => FILES[Math.floor(FILES.length * rand() ** 3)]!;
const words = (n: number) => Array.from({ length: n }, () => pick(VOCAB)).join(' ');
const files = () => [...new Set(Array.from({ length: 1 + Math.floor(rand() * 6) }, zipfFile))];

function fakeTask(i: number, finished: boolean): Task {
  const dead = finished && rand() < 0.1;
  return {
    id: `T${String(i).padStart(8, '0')}`,
    title: words(5 + Math.floor(rand() * 6)),
    description: finished ? '' : words(30),
    context: { files: files() },
    repo: 'bench',
    status: dead ? 'dead_letter' : 'completed',
    result: finished && rand() < 0.33 ? { summary: words(40) } : null,
    last_error: dead ? { code: 'VERIFICATION_FAILED', message: words(8) } : null,
    feedback: finished && rand() < 0.33 ? [{ at: 1, by: 'admin', kind: 'review', text: words(15), attempt: 1 }] : [],
    clarifications: [],
  } as unknown as Task;
}

const memory: HistoryStore = { load: () => Promise.resolve([]), append: () => Promise.resolve(), archivedBefore: () => Promise.resolve([]) };

async function main(): Promise<void> {
  printMachine(machineInfo());
  const history = new HistoryService(memory, () => Date.now());
  for (let i = 0; i < ENTRIES; i++) {
    await history.record(fakeTask(i, true));
    if (i % 2000 === 0) progress(`history: ${i}/${ENTRIES}`);
  }
  progressDone();
  const context = new ContextService(history, { budget: BUDGET, budgets: [], repoDirs: [] }, () => Date.now());
  const tasks = Array.from({ length: RUNS + 100 }, (_, i) => {
    const t = fakeTask(ENTRIES + i, false);
    if (i % 4 === 0) {
      Object.assign(t, {
        feedback: [{ at: 1, by: 'admin', kind: 'review', text: words(25), attempt: 1 }],
        clarifications: [{ question: words(10), asked_at: 1, asked_by: 'a', generation: 1, answer: words(12), answered_at: 2, answered_by: 'admin' }],
      });
    }
    return t;
  });
  const times: number[] = [];
  const tokens: number[] = [];
  let over = 0;
  let leftOut = 0;
  let included = 0;
  for (const [i, t] of tasks.entries()) {
    const start = process.hrtime.bigint();
    const ctx = context.assemble(t);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (i < 100) continue; // warm-up
    times.push(ms);
    tokens.push(ctx.tokens);
    if (ctx.tokens > ctx.budget) over++;
    leftOut += ctx.left_out.length;
    included += ctx.included.length;
  }
  const t = summarize(times);
  const k = summarize(tokens);
  const list = await history.list({ kind: 'admin', actor: 'admin' }, 'bench');
  out();
  out(`history: ${fmtNum(ENTRIES)} entries in one repo (${list.live} live, ${fmtNum(list.archived)} archived), budget ${fmtNum(BUDGET)} tokens, ${fmtNum(RUNS)} assemblies`);
  out(`assembly time: p50 ${fmtMs(t.p50)}  p90 ${fmtMs(t.p90)}  p99 ${fmtMs(t.p99)}  max ${fmtMs(t.max)}`);
  out(`prompt context tokens: p50 ${fmtNum(k.p50)}  p99 ${fmtNum(k.p99)}  max ${fmtNum(k.max)} (estimate: ceil(UTF-8 bytes / 4))`);
  out(`parts per context: ${(included / RUNS).toFixed(1)} in, ${(leftOut / RUNS).toFixed(1)} left out for the budget`);
  const start = await startTimes();
  out(
    `start: ${fmtNum(START_ENTRIES)} entries on disk in one repo; HistoryService.load ${fmtMs(start.loadMs)} (holds ${fmtNum(start.held)}), ` +
      `against reading and parsing every entry ${fmtMs(start.parseAllMs)}: ${fmtRatio(start.loadMs / start.parseAllMs)}`,
  );
  out();
  printTargets([
    { name: `assembly p99 <= ${TARGET_P99_MS} ms`, pass: t.p99 <= TARGET_P99_MS, detail: `p99 ${fmtMs(t.p99)} over ${fmtNum(RUNS)} runs` },
    { name: 'budget never exceeded', pass: over === 0, detail: `${over} of ${fmtNum(RUNS)} over; max ${fmtNum(k.max)} of ${fmtNum(BUDGET)} tokens` },
  ]);
}

/** Step 3: a hub's start with a long history on disk, and the parse-everything baseline. */
async function startTimes(): Promise<{ loadMs: number; parseAllMs: number; held: number }> {
  cleanUpOnExit();
  const dir = tempDir('sy-bench-context');
  try {
    const agents = await openAgentStore(join(dir, 'agents'));
    const store = historyStoreOf(agents);
    // The service numbers and archives as a hub does; writes go in batches of 1,000 (its own).
    const filling = new HistoryService(store, () => Date.now());
    for (let i = 0; i < START_ENTRIES; i += 1000) {
      await Promise.all(Array.from({ length: Math.min(1000, START_ENTRIES - i) }, (_, j) => filling.record(fakeTask(i + j, true))));
      if ((i + 1000) % 20_000 === 0) progress(`start: ${i + 1000}/${START_ENTRIES} entries on disk`);
    }
    progressDone();
    // The baseline: the store's own load with no bound reads and parses every entry on disk.
    const t0 = performance.now();
    const parsed = (await store.load(Number.MAX_SAFE_INTEGER)).reduce((n, r) => n + r.entries.length, 0);
    const parseAllMs = performance.now() - t0;
    const t1 = performance.now();
    const loaded = new HistoryService(store, () => Date.now());
    await loaded.load();
    const loadMs = performance.now() - t1;
    const list = await loaded.list({ kind: 'admin', actor: 'admin' }, 'bench');
    if (list.live + list.archived !== START_ENTRIES || parsed !== START_ENTRIES) throw new Error(`start: ${list.live + list.archived} entries counted, ${parsed} on disk, ${START_ENTRIES} written`);
    const held = (loaded as unknown as { repos: Map<string, { entries: unknown[] }> }).repos.get('bench')?.entries.length ?? 0;
    await agents.close();
    return { loadMs, parseAllMs, held };
  } finally {
    removeDir(dir);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
