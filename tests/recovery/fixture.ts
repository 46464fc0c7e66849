/**
 * A real hub's data folder for the recovery tests: startHub in the test process on a folder
 * (real LevelDB, logs captured), tasks created through the store, a backup taken the way a
 * stopped hub's folder can be copied, a restore that speaks RestoreFn, and the file damage the
 * tests inflict.
 */
import { cp, mkdir, readdir, readFile, rename, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startHub, type RunningHub } from '../../hub/app.js';
import { loadHubConfig } from '../../hub/config.js';
import type { CorruptionPolicy, RestoreFn } from '../../hub/recovery/recover.js';
import { stampOf } from '../../hub/recovery/repair.js';
import { readWatermark } from '../../hub/recovery/watermark.js';
import { createLogger } from '../../shared/logger.js';

export const ADMIN = 'test-admin-token-0123456789abcdef';

export interface Started {
  hub: RunningHub;
  logs: string[];
}

export async function startOn(dataDir: string, options: { policy?: CorruptionPolicy; restore?: RestoreFn; logs?: string[] } = {}): Promise<Started> {
  const logs = options.logs ?? [];
  const config = loadHubConfig({ dataDir, port: 0, adminToken: ADMIN, logLevel: 'info', ...(options.policy ? { onCorruption: options.policy } : {}) }, {});
  const log = createLogger('hub', 'info', { write: (s: string) => void logs.push(s) });
  const hub = await startHub(config, log, options.restore ? { restore: options.restore } : {});
  return { hub, logs };
}

/** Creates `n` tasks (100 to a batch) and returns their ids. */
export async function addTasks(hub: RunningHub, n: number, title = 'task'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 100) {
    const specs = Array.from({ length: Math.min(100, n - i) }, (_, j) => ({ title: `${title} ${i + j}`, description: 'x'.repeat(200) }));
    for (const r of await hub.store.createMany(specs, 'test')) ids.push(r.task.id);
  }
  return ids;
}

/** Every task id the hub's store holds. */
export async function allTaskIds(hub: RunningHub): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const status of ['queued', 'pending'] as const) {
    let after: string | undefined;
    for (;;) {
      const page = await hub.store.list({ status, limit: 500, ...(after ? { after } : {}) });
      for (const t of page.items) ids.add(t.id);
      if (!page.next) break;
      after = page.next;
    }
  }
  return ids;
}

/**
 * A data folder with `n` tasks, stopped cleanly. With `table`, started and stopped once more:
 * LevelDB then moves its write-ahead log into a table file (a 64 MiB write buffer keeps 1,000
 * tasks in the log otherwise).
 */
export async function populate(dataDir: string, n: number, table: boolean): Promise<string[]> {
  const { hub } = await startOn(dataDir);
  const ids = await addTasks(hub, n);
  await hub.close();
  if (table) await (await startOn(dataDir)).hub.close();
  return ids;
}

/** Copies a stopped hub's stores into `<data>/backups/<time>/`, with a manifest like hub/backup's. */
export async function takeBackup(dataDir: string, at = Date.now()): Promise<string> {
  const dir = join(dataDir, 'backups', stampOf(at));
  for (const store of ['tasks', 'agents']) await cp(join(dataDir, store), join(dir, store), { recursive: true });
  const w = await readWatermark(dataDir);
  if (w === null || w === 'garbled') throw new Error('no watermark to take the newest event from');
  await writeFile(join(dir, 'manifest.json'), JSON.stringify({ format: 1, created_at: at, newest_event_id: w.newest_event }));
  return dir;
}

/** A restore as RestoreFn describes it: the newest backup's stores into place, whatever is there moved aside. */
export function restoreFromBackups(): RestoreFn & { calls: number } {
  const fn = async (dataDir: string) => {
    fn.calls++;
    const names = (await readdir(join(dataDir, 'backups')).catch(() => [] as string[])).sort();
    const newest = names.at(-1);
    if (!newest) throw new Error(`no verified backup in ${join(dataDir, 'backups')}`);
    const from = join(dataDir, 'backups', newest);
    const aside = join(dataDir, `replaced-${Date.now()}`);
    for (const store of ['tasks', 'agents']) {
      const there = await stat(join(dataDir, store)).then(() => true, () => false);
      if (there) {
        await mkdir(aside, { recursive: true });
        await rename(join(dataDir, store), join(aside, store));
      }
      await cp(join(from, store), join(dataDir, store), { recursive: true });
    }
    const manifest = JSON.parse(await readFile(join(from, 'manifest.json'), 'utf8')) as { created_at: number };
    return { from, backup_at: manifest.created_at, moved_to: aside };
  };
  fn.calls = 0;
  return fn;
}

export const fileOf = async (dir: string, re: RegExp): Promise<string> => {
  const name = (await readdir(dir)).find((f) => re.test(f));
  if (!name) throw new Error(`no file matching ${re} in ${dir}: ${(await readdir(dir)).join(' ')}`);
  return join(dir, name);
};

/**
 * XORs `n` bytes from `at` (a fraction of the file's length); with `inside`, from the first
 * occurrence of that text at or after `at`, so the damage lands in a record's value whatever
 * the records' layout (XOR 0x5a turns `x` into `"`, which no JSON parser takes back).
 */
export async function garble(path: string, at: number, n: number, inside?: string): Promise<void> {
  const buf = await readFile(path);
  let start = Math.floor(buf.length * at);
  if (inside !== undefined) {
    const found = buf.indexOf(inside, start);
    if (found < 0) throw new Error(`no '${inside.slice(0, 20)}…' after ${start} in ${path}`);
    start = found;
  }
  for (let i = start; i < start + n && i < buf.length; i++) buf[i] = buf[i]! ^ 0x5a;
  await writeFile(path, buf);
}

export async function truncateTo(path: string, fraction: number): Promise<void> {
  await truncate(path, Math.floor((await stat(path)).size * fraction));
}

/** The hub's /v1/health answer. */
export async function health(hub: RunningHub): Promise<Record<string, unknown> & { recovery?: Record<string, unknown> | null }> {
  const res = await hub.app.inject({ method: 'GET', url: '/v1/health' });
  return res.json();
}
