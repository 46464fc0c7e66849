/**
 * Fan-in bench: what many dependants of one task cost the store, against the same number of
 * independent tasks measured in the same run (the baseline).
 *
 *   npm run bench:fanin
 *   BENCH_BATCHES=10 BENCH_BATCH_SIZE=1000 npm run bench:fanin
 *
 * Each scenario runs in a child process of its own (so peak RSS is its own): a fresh store, then
 * BENCH_BATCHES createMany batches of BENCH_BATCH_SIZE tasks, each awaited (durable).
 *   - independent: tasks with no dependencies (the baseline);
 *   - fan-in:      every task depends on one pending task.
 * Printed per scenario: the time of the first and the last batch, the total, the peak RSS and
 * the size of the store on disk, and fan-in's ratio to the baseline. Before the store kept one
 * key per dependency edge (format 3) the fan-in figures grew with every batch: the dependency's
 * record held the whole list and was rewritten for each new dependant.
 */
import { execFileSync, fork } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTaskStore } from '../hub/store/level-task-store.js';
import type { TaskSpec } from '../shared/task.js';
import { machineInfo } from './support/machine.js';
import { fmtBytes, fmtMs, fmtRatio, out, printMachine, printTable, progress, progressDone } from './support/report.js';
import { removeDir, tempDir } from './support/temp.js';

type Scenario = 'independent' | 'fan-in';

interface ScenarioResult {
  scenario: Scenario;
  batchMs: number[];
  peakRssBytes: number;
  storeBytes: number;
}

const BATCHES = Number(process.env.BENCH_BATCHES ?? 10);
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? 1000);

function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(path) : statSync(path).size;
  }
  return total;
}

/** One scenario, in this (child) process. */
async function runScenario(scenario: Scenario): Promise<ScenarioResult> {
  const dir = tempDir(`fanin-${scenario}`);
  const store = await openTaskStore(join(dir, 'tasks'), { autoSweep: false });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    // The dependency never runs (no agent offers its capability): every dependant stays pending.
    const parent = (await store.create({ title: 'the one dependency', capabilities: ['never'] }, 'bench')).task;
    const batchMs: number[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const specs: TaskSpec[] = Array.from({ length: BATCH_SIZE }, (_, i) => ({
        title: `task ${b}-${i}`,
        ...(scenario === 'fan-in' ? { depends_on: [parent.id] } : {}),
      }));
      const started = performance.now();
      await store.createMany(specs, 'bench');
      batchMs.push(performance.now() - started);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    await store.close();
    return { scenario, batchMs, peakRssBytes: peak, storeBytes: dirBytes(join(dir, 'tasks')) };
  } finally {
    clearInterval(sampler);
    removeDir(dir);
  }
}

function runInChild(scenario: Scenario): Promise<ScenarioResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--scenario', scenario], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m) => resolve(m as ScenarioResult));
    child.once('exit', (code) => code !== 0 && reject(new Error(`scenario ${scenario} exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--scenario');
  if (i >= 0) {
    const result = await runScenario(process.argv[i + 1] as Scenario);
    process.send!(result);
    process.disconnect();
    return;
  }
  printMachine(machineInfo());
  out(`fan-in: ${BATCHES} batches of ${BATCH_SIZE} tasks (createMany, durable), each scenario in its own process`);
  out();
  const results: ScenarioResult[] = [];
  for (const scenario of ['independent', 'fan-in'] as const) {
    progress(`running ${scenario}`);
    results.push(await runInChild(scenario));
  }
  progressDone();
  const [base, fan] = results as [ScenarioResult, ScenarioResult];
  const total = (r: ScenarioResult) => r.batchMs.reduce((a, b) => a + b, 0);
  const row = (r: ScenarioResult) => [
    r.scenario,
    fmtMs(r.batchMs[0]!),
    fmtMs(r.batchMs[r.batchMs.length - 1]!),
    fmtMs(total(r)),
    fmtBytes(r.peakRssBytes),
    fmtBytes(r.storeBytes),
  ];
  printTable(['scenario', 'first batch', 'last batch', 'total', 'peak RSS', 'store on disk'], [row(base), row(fan)]);
  out();
  out(`fan-in / independent: time ${fmtRatio(total(fan) / total(base))}, peak RSS ${fmtRatio(fan.peakRssBytes / base.peakRssBytes)}, store ${fmtRatio(fan.storeBytes / base.storeBytes)}`);
  out(`fan-in last batch / first batch: ${fmtRatio(fan.batchMs[fan.batchMs.length - 1]! / fan.batchMs[0]!)} (flat when a new dependant costs O(1))`);
  try {
    out(`commit: ${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()}`);
  } catch {
    // not a git checkout
  }
}

await main();
