/**
 * Start-up check bench: what hub/recovery/ adds to a hub's start, by store size.
 *
 *   npm run bench:startcheck                                  (1,000, 10,000, 100,000 tasks)
 *   BENCH_TASKS=1000,50000 npm run bench:startcheck
 *
 * For each size: a task store with that many tasks (each with its creation event), stopped, its
 * log moved into tables by one more open; then, timed: the file check alone (level-files.ts:
 * every checksum), the start's inspection (files, then the format marker and newest ids), the
 * full one (`hub check`, a repaired copy: with the integrity check), and a plain open of the task
 * store (what a start cost before), for comparison.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLevelFiles } from '../hub/recovery/level-files.js';
import { inspectStores } from '../hub/recovery/inspect.js';
import { openAgentStore } from '../hub/store/agent-store.js';
import { openTaskStore } from '../hub/store/level-task-store.js';
import { machineInfo } from './support/machine.js';
import { fmtRatio, printMachine } from './support/report.js';

printMachine(machineInfo());
const sizes = (process.env.BENCH_TASKS ?? '1000,10000,100000').split(',').map(Number);

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  const v = await fn();
  return [v, Number(process.hrtime.bigint() - t0) / 1e6];
}

for (const n of sizes) {
  const dir = await mkdtemp(join(tmpdir(), 'sy-bench-startcheck-'));
  const store = await openTaskStore(join(dir, 'tasks'), { autoSweep: false });
  for (let i = 0; i < n; i += 1000) {
    await store.createMany(Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ title: `task ${i + j}`, description: 'x'.repeat(200) })), 'bench');
  }
  await store.close();
  await (await openAgentStore(join(dir, 'agents'))).close();
  await (await openTaskStore(join(dir, 'tasks'), { autoSweep: false })).close();
  const [files, filesMs] = await timed(() => checkLevelFiles(join(dir, 'tasks')));
  const [found, inspectMs] = await timed(() => inspectStores(dir));
  const [, fullMs] = await timed(() => inspectStores(dir, { full: true }));
  const [opened, openMs] = await timed(() => openTaskStore(join(dir, 'tasks'), { autoSweep: false, readOnly: true }));
  await opened.close();
  if (files.problems.length || found.problems.length) throw new Error(`unexpected problems: ${JSON.stringify([files.problems, found.problems])}`);
  process.stdout.write(
    `${n} tasks, ${(files.bytes / 1e6).toFixed(1)} MB of files: file check ${filesMs.toFixed(0)} ms (${(files.bytes / 1e6 / (filesMs / 1000)).toFixed(0)} MB/s); ` +
      `start inspection ${inspectMs.toFixed(0)} ms; full inspection ${fullMs.toFixed(0)} ms; a plain open ${openMs.toFixed(0)} ms (baseline); ` +
      `start inspection / plain open ${fmtRatio(inspectMs / openMs)}\n`,
  );
  await rm(dir, { recursive: true, force: true });
}
