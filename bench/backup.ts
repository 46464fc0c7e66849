/**
 * Backup bench: what an online backup costs a hub that keeps dispatching, and how long it takes.
 *
 *   npm run bench:backup
 *   BENCH_TASKS=100000 BENCH_SECONDS=5 npm run bench:backup        (a smaller store)
 *
 * 1. Fill a data folder with BENCH_TASKS tasks (default 1,000,000) straight through the task store
 *    (batches of 1000 created, then cancelled: a store of finished history, as a hub's store is
 *    after months; each task has its record, two events and a status index key).
 * 2. Start the hub on it (`node dist/cli/switchyard.js hub`, its own process, schedule off),
 *    connect BENCH_SIDECARS simulated sidecars (default 100; bench/dispatch-sim.ts), run once to
 *    warm up, then measure full durable dispatch cycles/s for BENCH_SECONDS (default 10).
 * 3. Measure again with POST /v1/backups sent as the window opens: the window overlaps the
 *    backup (the report says how much of it did); then the backup's time (until verified); then
 *    cycles/s once more without. The ratio is "during" over the mean of the two without.
 * 4. The target: cycles/s during the backup >= 0.7x cycles/s without. Informational: exits 0.
 *
 * Progress goes to stderr, results to stdout (docs/benchmarks.md).
 */
import { join } from 'node:path';
import { openTaskStore } from '../hub/store/level-task-store.js';
import type { BackupEntry } from '../shared/rest.js';
import { HubHttp } from './dispatch-http.js';
import { HubProcess } from './dispatch-hub.js';
import { FleetProcess, type AgentCred, type ConnectResult, type CyclesResult } from './dispatch-ipc.js';
import { machineInfo } from './support/machine.js';
import { fmtBytes, fmtMs, fmtNum, fmtRatio, out, printMachine, printTargets, progress, progressDone } from './support/report.js';
import { cleanUpOnExit, removeDir, tempDir } from './support/temp.js';
import { clock } from './support/timing.js';

const TARGET_RATIO = 0.7;

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw.replace(/_/g, ''));
  if (!(v > 0)) throw new Error(`${name} must be a positive number, got '${raw}'`);
  return v;
}

const cfg = Object.freeze({
  tasks: int('BENCH_TASKS', 1_000_000),
  sidecars: int('BENCH_SIDECARS', 100),
  seconds: int('BENCH_SECONDS', 10),
  warmupSeconds: int('BENCH_WARMUP_SECONDS', 2),
  maxConcurrency: int('BENCH_MAX_CONCURRENCY', 16),
  batchSize: int('BENCH_BATCH', 500),
  backlog: int('BENCH_BACKLOG', 2000),
  dir: process.env.BENCH_DIR || undefined,
});

async function fill(dataDir: string): Promise<number> {
  const start = clock();
  const store = await openTaskStore(join(dataDir, 'tasks'), { autoSweep: false });
  const filler = 'a finished task of the bench, with a description of about the length people write. '.repeat(2);
  try {
    let last = 0;
    for (let done = 0; done < cfg.tasks; ) {
      const n = Math.min(1000, cfg.tasks - done);
      const created = await store.createMany(
        Array.from({ length: n }, (_, i) => ({ title: `history ${done + i}`, description: filler, capabilities: ['bench-history'] })),
        'bench',
      );
      await Promise.all(created.map((c) => store.cancel(c.task.id, 'bench', 'history')));
      done += n;
      if (clock() - last > 1000 || done === cfg.tasks) {
        last = clock();
        const rate = (done * 1000) / (last - start);
        progress(`filling: ${fmtNum(done)} / ${fmtNum(cfg.tasks)} tasks (${fmtNum(rate)}/s, ~${((cfg.tasks - done) / rate).toFixed(0)} s left)`);
      }
    }
  } finally {
    await store.close();
  }
  progressDone();
  return clock() - start;
}

async function cycles(fleet: FleetProcess, hub: HubProcess, onMark?: (m: 'start' | 'end') => void): Promise<CyclesResult> {
  const result = await fleet.call<CyclesResult>(
    {
      cmd: 'cycles',
      hubUrl: hub.url,
      adminToken: hub.adminToken,
      batchSize: cfg.batchSize,
      backlog: cfg.backlog,
      warmupMs: cfg.warmupSeconds * 1000,
      windowMs: cfg.seconds * 1000,
      drainTimeoutMs: 60_000,
    },
    onMark,
  );
  if (result.leftOver > 0) throw new Error(`${result.leftOver} posted tasks were not completed (first error: ${result.firstError})`);
  return result;
}

async function main(): Promise<void> {
  cleanUpOnExit();
  const started = clock();
  out('Backup bench: dispatch during an online backup (npm run bench:backup)');
  printMachine(machineInfo());
  out(`  store: ${fmtNum(cfg.tasks)} tasks (BENCH_TASKS); ${cfg.sidecars} sidecars x ${cfg.maxConcurrency} slots; windows of ${cfg.seconds} s after ${cfg.warmupSeconds} s warm-up`);
  const dataDir = tempDir('sy-bench-backup', cfg.dir);
  const fillMs = await fill(dataDir);
  out(`  filled in ${fmtMs(fillMs)}`);

  // No scheduled backup: the bench takes the one it measures.
  process.env.SWITCHYARD_BACKUP_EVERY_MS = '0';
  progress('starting the hub (it loads the store)');
  const hubStart = clock();
  const hub = await HubProcess.start({ dataDir, heartbeatMs: 5000 });
  out(`  hub started on the filled store in ${fmtMs(clock() - hubStart)}, RSS ${fmtBytes(hub.memory().rss)}`);
  const fleet = FleetProcess.start();
  const http = new HubHttp(hub.url, hub.adminToken, 4);
  try {
    progress(`registering ${cfg.sidecars} agents`);
    const creds: AgentCred[] = [];
    for (let i = 0; i < cfg.sidecars; i++) {
      const id = `bench-sc-${String(i).padStart(4, '0')}`;
      creds.push({ id, token: (await http.post<{ token: string }>('/v1/agents', { id })).token });
    }
    const conn = await fleet.call<ConnectResult>({ cmd: 'connect', url: `${hub.url.replace(/^http/, 'ws')}/v1/agent`, agents: creds, maxConcurrency: cfg.maxConcurrency, concurrency: 50 });
    if (conn.failed > 0) throw new Error(`${conn.failed} sidecars could not connect: ${conn.firstError}`);

    // A first run warms the hub up (JIT, the store's first compactions after the fill): not counted.
    progress(`warm-up run (${cfg.warmupSeconds} + ${cfg.seconds} s, not counted)`);
    await cycles(fleet, hub);
    progress(`cycles without a backup (${cfg.warmupSeconds} + ${cfg.seconds} s)`);
    const before = await cycles(fleet, hub);

    progress(`cycles during a backup (${cfg.warmupSeconds} + ${cfg.seconds} s; the backup starts as the window opens)`);
    let windowStart = 0;
    let windowEnd = 0;
    let backupStart = 0;
    let backupEnd = 0;
    let backup: Promise<BackupEntry> | null = null;
    const during = await cycles(fleet, hub, (m) => {
      if (m === 'start') {
        windowStart = clock();
        backupStart = clock();
        backup = http.post<BackupEntry>('/v1/backups', undefined).finally(() => (backupEnd = clock()));
        backup.catch(() => undefined);
      } else windowEnd = clock();
    });
    if (!backup) throw new Error('the cycles window never opened');
    progress('waiting for the backup to be verified');
    const taken = await (backup as Promise<BackupEntry>);
    const backupMs = backupEnd - backupStart;
    const overlap = Math.max(0, Math.min(windowEnd, backupEnd) - windowStart) / (windowEnd - windowStart);
    // And again after it, so a drift of the machine (other load) shows as a gap between the two.
    progress(`cycles without a backup, after it (${cfg.warmupSeconds} + ${cfg.seconds} s)`);
    const after = await cycles(fleet, hub);
    progressDone();

    const withoutRate = (before.perSecond + after.perSecond) / 2;
    const ratio = during.perSecond / withoutRate;
    const m = taken.manifest;
    out();
    out(
      `cycles/s at ${cfg.sidecars} sidecars: ${fmtNum(before.perSecond)} before the backup and ${fmtNum(after.perSecond)} after it (mean ${fmtNum(withoutRate)}), ` +
        `${fmtNum(during.perSecond)} during it: ${fmtRatio(ratio)}`,
    );
    out(`  the backup ran through ${Math.round(overlap * 100)}% of the "during" window${overlap < 1 ? ' (it ended before the window did: a larger BENCH_TASKS or a shorter BENCH_SECONDS keeps it inside)' : ''}`);
    out(`  errors: ${before.errors + after.errors} without, ${during.errors} during${during.firstError ? ` (first: ${during.firstError})` : ''}`);
    out(`backup of ${fmtNum(m.tasks)} tasks, ${fmtNum(m.events)} events (${fmtNum(Object.values(m.stores).reduce((n, s) => n + s.keys, 0))} keys): ${fmtMs(backupMs)} until verified (copy ${fmtMs(m.took_ms)}, then verify), ${taken.dir}`);
    out();
    out('Targets (information only: the bench exits 0 either way)');
    printTargets([
      {
        name: `cycles/s during a backup >= ${TARGET_RATIO}x cycles/s without (at ${cfg.sidecars} sidecars, ${fmtNum(cfg.tasks)} tasks)`,
        pass: overlap >= 0.99 ? ratio >= TARGET_RATIO : null,
        detail: `${fmtRatio(ratio)}${overlap < 0.99 ? `; the backup covered only ${Math.round(overlap * 100)}% of the window` : ''}`,
      },
    ]);
    out(`\ntotal ${fmtMs(clock() - started)}`);
  } catch (err) {
    throw hub.exitReason ? new Error(`${hub.exitReason}\n(the bench step that failed: ${(err as Error).message})`) : err;
  } finally {
    http.close();
    await fleet.call({ cmd: 'disconnect' }).catch(() => undefined);
    await fleet.stop();
    await hub.stop();
    removeDir(dataDir);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    progressDone();
    process.stderr.write(`bench:backup failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
