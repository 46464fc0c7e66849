/**
 * Soak bench: a steady load of full durable cycles on the hub's LevelDB task store while
 * retention, with a short limit, archives and removes the finished tasks round after round.
 *
 *   npm run bench:soak
 *   BENCH_SECONDS=60 BENCH_ROUND_MS=5000 npm run bench:soak        (a quick run)
 *
 * One process: the store (kv-task-store on LevelDB in a temp data folder), the archive
 * (`<data>/archive/`), `BENCH_CONCURRENCY` loops of create -> leaseNext -> accept -> complete
 * (each step awaited: durable), and a retention round every `BENCH_ROUND_MS` removing completed
 * tasks older than `BENCH_RETENTION_MS`, exactly as the hub's retention feature runs it.
 *
 * Every `BENCH_INTERVAL_S` it prints: cycles/s in that interval, the store folder's size, the
 * archive's size, RSS, and whether a round ran in it (and what it removed). At the end: the
 * time to reopen the store, and cycles/s in intervals with a round against those without.
 * Targets: store size and RSS flat after the first rounds; cycles/s during rounds >= 0.8x
 * between them. Informational: exits 0 either way. docs/benchmarks.md has a run's figures.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TaskArchive } from '../hub/archive/archive.js';
import { openTaskStore } from '../hub/store/level-task-store.js';
import type { RetentionOptions, RetentionReport, TaskStore } from '../hub/store/task-store.js';
import { machineInfo } from './support/machine.js';
import { fmtBytes, fmtMs, fmtNum, fmtRatio, out, printMachine, printTable, printTargets, progress, type Target } from './support/report.js';
import { cleanUpOnExit, removeDir, tempDir } from './support/temp.js';
import { clock } from './support/timing.js';

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!(v > 0)) throw new Error(`${name} must be a positive number, got '${raw}'`);
  return v;
}

const cfg = Object.freeze({
  /** Length of the soak. @defaultValue 180 */
  seconds: positive('BENCH_SECONDS', 180),
  /** One row per this many seconds. @defaultValue 5 */
  intervalS: positive('BENCH_INTERVAL_S', 5),
  /** A retention round every this many ms. @defaultValue 15000 */
  roundMs: positive('BENCH_ROUND_MS', 15_000),
  /** Completed tasks older than this are removed. @defaultValue 5000 */
  retentionMs: positive('BENCH_RETENTION_MS', 5_000),
  /** Concurrent cycle loops. @defaultValue 200 */
  concurrency: positive('BENCH_CONCURRENCY', 200),
  /** Tasks per removal batch. @defaultValue 250 */
  batch: positive('BENCH_RETENTION_BATCH', 250),
  dir: process.env.BENCH_DIR || undefined,
});

function folderBytes(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const st = statSync(join(dir, name));
    total += st.isDirectory() ? folderBytes(join(dir, name)) : st.size;
  }
  return total;
}

interface Row {
  t: number;
  cycles: number;
  perSecond: number;
  storeBytes: number;
  archiveBytes: number;
  rss: number;
  round: boolean;
  removed: number;
}

async function main(): Promise<void> {
  cleanUpOnExit();
  const data = tempDir('switchyard-soak-', cfg.dir);
  const storeDir = join(data, 'tasks');
  const archiveDir = join(data, 'archive');
  printMachine(machineInfo());
  out(`soak: ${cfg.seconds} s, ${cfg.concurrency} cycle loops, a retention round every ${cfg.roundMs} ms removing completed tasks older than ${cfg.retentionMs} ms (batches of ${cfg.batch})`);
  let store: TaskStore = await openTaskStore(storeDir);
  const archive = new TaskArchive(archiveDir);
  const options: RetentionOptions = { completedMs: cfg.retentionMs, cancelledMs: cfg.retentionMs, deadLetterMs: cfg.retentionMs, batch: cfg.batch, idempotencyKeepMs: 0 };

  let cycles = 0;
  let stop = false;
  const agent = { agentId: 'soak', capabilities: [] };
  const loop = async (w: number) => {
    while (!stop) {
      await store.create({ title: `soak ${w}`, description: 'a soak bench task with a description of typical length '.repeat(4) }, 'soak');
      const leased = await store.leaseNext(agent);
      if (!leased) continue;
      const running = await store.accept(leased.id, leased.generation, 'soak');
      await store.complete(running.id, running.generation, 'soak', { summary: 'done', tail: 'ok\n'.repeat(20) });
      cycles++;
    }
  };

  // Rounds, and which intervals they overlapped.
  let roundRunning = false;
  let roundInInterval = false;
  let removedInInterval = 0;
  const reports: RetentionReport[] = [];
  const roundTimer = setInterval(() => {
    if (roundRunning) return;
    roundRunning = true;
    roundInInterval = true;
    store
      .retain!(options, archive)
      .then((r) => {
        reports.push(r);
        removedInInterval += r.removed;
      })
      .catch((err: unknown) => progress(`retention round failed: ${(err as Error).message}`))
      .finally(() => {
        roundRunning = false;
      });
  }, cfg.roundMs);

  const rows: Row[] = [];
  const start = clock();
  let lastT = start;
  let lastCycles = 0;
  const loops = Array.from({ length: cfg.concurrency }, (_, w) => loop(w));
  while (clock() - start < cfg.seconds * 1000) {
    await new Promise((r) => setTimeout(r, cfg.intervalS * 1000));
    const t = clock();
    const row: Row = {
      t: (t - start) / 1000,
      cycles: cycles - lastCycles,
      perSecond: ((cycles - lastCycles) * 1000) / (t - lastT),
      storeBytes: folderBytes(storeDir),
      archiveBytes: folderBytes(archiveDir),
      rss: process.memoryUsage().rss,
      round: roundInInterval || roundRunning,
      removed: removedInInterval,
    };
    rows.push(row);
    progress(`  ${row.t.toFixed(0)} s: ${fmtNum(row.perSecond)} cycles/s, store ${fmtBytes(row.storeBytes)}, archive ${fmtBytes(row.archiveBytes)}, RSS ${fmtBytes(row.rss)}${row.round ? `, round (${row.removed} removed)` : ''}`);
    lastT = t;
    lastCycles = cycles;
    roundInInterval = roundRunning;
    removedInInterval = 0;
  }
  stop = true;
  clearInterval(roundTimer);
  await Promise.all(loops);
  while (roundRunning) await new Promise((r) => setTimeout(r, 50));

  await store.close();
  const t0 = clock();
  store = await openTaskStore(storeDir);
  const reopenMs = clock() - t0;
  const live = (await store.stats()).byStatus;
  await store.close();

  out();
  printTable(
    ['t (s)', 'cycles/s', 'store', 'archive', 'RSS', 'round', 'removed by a round that ended'],
    rows.map((r) => [r.t.toFixed(0), fmtNum(r.perSecond), fmtBytes(r.storeBytes), fmtBytes(r.archiveBytes), fmtBytes(r.rss), r.round ? 'yes' : '', r.removed > 0 ? r.removed.toLocaleString('en-US') : '']),
  );
  const removed = reports.reduce((n, r) => n + r.removed, 0);
  const roundMs = reports.map((r) => r.durationMs);
  const compactMs = reports.map((r) => r.compactMs);
  out();
  out(`  rounds: ${reports.length}, ${fmtNum(removed)} tasks archived and removed; round ${fmtMs(Math.min(...roundMs))}..${fmtMs(Math.max(...roundMs))} (compaction ${fmtMs(Math.min(...compactMs))}..${fmtMs(Math.max(...compactMs))})`);
  out(`  reopen: ${fmtMs(reopenMs)} (store ${fmtBytes(folderBytes(storeDir))}; live by status ${JSON.stringify(live)})`);

  const during = rows.filter((r) => r.round);
  const between = rows.filter((r) => !r.round);
  const avg = (rs: Row[]) => rs.reduce((n, r) => n + r.perSecond, 0) / Math.max(1, rs.length);
  const ratio = avg(during) / avg(between);
  // "Flat": the second half's largest value is no more than 25% above the first half's largest,
  // once the first rounds (the first third) have passed.
  const settled = rows.slice(Math.floor(rows.length / 3));
  const half = Math.floor(settled.length / 2);
  const flat = (pick: (r: Row) => number) => {
    const a = Math.max(...settled.slice(0, half).map(pick));
    const b = Math.max(...settled.slice(half).map(pick));
    return { a, b, pass: settled.length >= 2 ? b <= a * 1.25 : null };
  };
  const disk = flat((r) => r.storeBytes);
  const rss = flat((r) => r.rss);
  const targets: Target[] = [
    { name: 'store size flat after the first rounds', pass: disk.pass, detail: `max ${fmtBytes(disk.a)} then ${fmtBytes(disk.b)} (the archive grows by design)` },
    { name: 'RSS flat after the first rounds', pass: rss.pass, detail: `max ${fmtBytes(rss.a)} then ${fmtBytes(rss.b)}` },
    {
      name: 'cycles/s during retention rounds >= 0.8x between them',
      pass: during.length > 0 && between.length > 0 ? ratio >= 0.8 : null,
      detail: `${fmtNum(avg(during))} vs ${fmtNum(avg(between))} /s = ${fmtRatio(ratio)} (${during.length} intervals with a round, ${between.length} without)`,
    },
  ];
  out();
  printTargets(targets);
  removeDir(data);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
