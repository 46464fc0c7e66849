/**
 * Restores a backup into a STOPPED hub's data folder.
 *
 *   1. Pick the backup (`from`, else the newest verified one in `<data>/backups`) and check its
 *      manifest: BACKUP_NOT_FOUND, BACKUP_INVALID, BACKUP_TOO_NEW change nothing.
 *   2. Copy the backup into `<data>/.restore-<time>/` and verify the copy (a damaged backup, a
 *      full disk: the copy is removed, nothing else changed). Without `from`, a backup that does
 *      not verify is passed over for the next newest (`skipped` in the report).
 *   3. Open the live stores read-only: STORE_LOCKED while a hub runs on them (the copy removed,
 *      nothing else changed); where they open, count what they hold that the backup does not.
 *   4. Write `<data>/restore.json` (the plan), then move the live stores (and the key files the
 *      backup holds) into `<data>/damaged-<time>/` — moved aside, never deleted — and the staged
 *      copy into their place; then remove the plan. A restore stopped between the moves is
 *      finished by `finishInterruptedRestore` (the next restore, or the hub's start): the staged
 *      copy is verified already, so finishing it is safe, and a hub never starts on a half.
 */
import { mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { SwitchyardError } from '../../shared/errors.js';
import type { BackupManifest } from '../../shared/rest.js';
import { decodeTime, encodeTime } from '../store/ids.js';
import { K, STORE_FORMAT_VERSION } from '../store/keys.js';
import { openLevelKv } from '../store/level-kv.js';
import { copyTree, isNoSpace, removeTree, syncPath, timeName } from './fs-util.js';
import { readManifest } from './manifest.js';
import { HUB_FILES, HUB_STORES, PARTIAL_PREFIX } from './stores.js';
import { listBackups } from './take.js';
import { verifyBackup } from './verify.js';

const PLAN_FILE = 'restore.json';
const STAGING_PREFIX = '.restore-';

export interface RestoreOptions {
  /** The hub's data folder (stopped). */
  dataDir: string;
  /** A backup folder; default the newest verified backup in `<dataDir>/backups`. */
  from?: string;
  log?: Logger;
  now?: () => number;
}

/** What the restore lost: the changes the live store had that the backup does not. */
export interface RestoreLoss {
  /** The backup's time: changes after it are not in the restored store. */
  since: number;
  /** The newest change the replaced store held (its newest event), when it could be read. */
  until: number | null;
  /** Whether the replaced task store could be read (when not, what it held past `since` is unknown). */
  readable: boolean;
  /** Events the replaced store had after the backup's newest event (changes of state lost). */
  newer_events: number | null;
  /** Tasks the replaced store had that were created after the backup (their ids and specs are lost). */
  newer_tasks: number | null;
}

export interface RestoreReport {
  /** The backup folder restored from. */
  from: string;
  manifest: BackupManifest;
  /** Where the replaced stores and files were moved; null when the data folder held none. */
  moved_to: string | null;
  /** What was moved there (store folders and files). */
  moved: string[];
  lost: RestoreLoss;
  /** Newer backups passed over because they did not verify (only without `from`). */
  skipped: Array<{ dir: string; code: string; message: string }>;
  /** The report for people, one line each. */
  lines: string[];
}

/**
 * Restores a backup into the stopped hub at `dataDir` and says what it holds and what is gone.
 * Throws (changing nothing) BACKUP_NOT_FOUND, BACKUP_INVALID, BACKUP_TOO_NEW, STORE_LOCKED (a
 * hub runs on the folder), BACKUP_FAILED (the copy failed: a full disk).
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreReport> {
  const now = options.now ?? Date.now;
  const dataDir = resolve(options.dataDir);
  await finishInterruptedRestore(dataDir, options.log);
  // The backup is checked (manifest, format, then a verified copy) before the live stores are
  // touched at all: a bad backup leaves the data folder exactly as it was, byte for byte. Without
  // `from`, a newest backup that no longer verifies (bit rot, a copy cut short) is skipped, and
  // said so, for the next newest.
  // A hub running on the folder is refused before a large backup is copied for nothing, where the
  // system tells without opening the stores; measureLoss's open below is the check that decides.
  for (const store of HUB_STORES) {
    if (await lockHeld(join(dataDir, store.dir))) {
      throw new SwitchyardError('STORE_LOCKED', `a hub is running on ${dataDir} (its ${store.name} store is locked): stop it first, then restore`, { dir: dataDir });
    }
  }
  const stamp = timeName(now());
  const staging = join(dataDir, `${STAGING_PREFIX}${stamp}`);
  const candidates = options.from !== undefined ? [await pickBackup(dataDir, options.from)] : (await listBackups(dataDir)).map((b) => b.dir);
  if (candidates.length === 0) await pickBackup(dataDir, undefined); // throws BACKUP_NOT_FOUND, saying where it looked
  const skipped: RestoreReport['skipped'] = [];
  let chosen: { from: string; manifest: BackupManifest } | null = null;
  for (const dir of candidates) {
    try {
      const manifest = await checkedManifest(dir);
      await stage(dir, manifest, staging, dataDir);
      chosen = { from: dir, manifest };
      break;
    } catch (err) {
      const code = err instanceof SwitchyardError ? err.code : '';
      if (options.from !== undefined || (code !== 'BACKUP_INVALID' && code !== 'BACKUP_TOO_NEW')) throw err;
      skipped.push({ dir, code, message: (err as Error).message });
      options.log?.warn({ dir, err }, 'skipped a backup that does not verify; trying the next newest');
    }
  }
  if (!chosen) {
    throw new SwitchyardError('BACKUP_INVALID', `no backup in ${join(dataDir, 'backups')} verifies: ${skipped.map((s) => `${s.dir}: ${s.message}`).join('; ')}`, { dir: dataDir });
  }
  const { from, manifest } = chosen;

  // Then whether a hub runs on the folder (STORE_LOCKED), and what the live store holds that the
  // backup lacks. (Opening it read-only lets LevelDB replay its log into its own files; no key
  // changes, and the store is moved aside whole next.)
  let lost: RestoreLoss;
  try {
    lost = await measureLoss(dataDir, manifest);
  } catch (err) {
    await removeTree(staging).catch(() => undefined);
    throw err;
  }

  const damaged = join(dataDir, `damaged-${stamp}`);
  await writeFileAtomic(join(dataDir, PLAN_FILE), JSON.stringify({ staging, damaged, files: Object.keys(manifest.files) }));
  const moved = await applyPlan(dataDir, { staging, damaged, files: Object.keys(manifest.files) });
  options.log?.info({ from, moved_to: moved.length ? damaged : null }, 'restored a backup');
  const report: RestoreReport = { from, manifest, moved_to: moved.length ? damaged : null, moved, lost, skipped, lines: [] };
  report.lines = describe(report);
  return report;
}

export interface RestorePreview {
  from: string;
  manifest: BackupManifest;
  lost: RestoreLoss;
}

/**
 * Everything a restore checks before it changes anything (the backup, its format, that no hub
 * runs on the folder) and what it would lose; changes nothing. The same errors as restoreBackup.
 */
export async function previewRestore(options: Pick<RestoreOptions, 'dataDir' | 'from'>): Promise<RestorePreview> {
  const dataDir = resolve(options.dataDir);
  const { from, manifest } = await chooseBackup(dataDir, options.from);
  return { from, manifest, lost: await measureLoss(dataDir, manifest) };
}

/** The backup to restore and its manifest, checked as far as reading it goes (format, checksum). */
async function chooseBackup(dataDir: string, fromOption: string | undefined): Promise<{ from: string; manifest: BackupManifest }> {
  const from = await pickBackup(dataDir, fromOption);
  return { from, manifest: await checkedManifest(from) };
}

/** Copies the backup into `staging` and verifies the copy; on any failure removes it (nothing else changed). */
async function stage(from: string, manifest: BackupManifest, staging: string, dataDir: string): Promise<void> {
  try {
    for (const store of HUB_STORES) await copyTree(join(from, store.dir), join(staging, store.dir));
    for (const name of Object.keys(manifest.files)) await copyFileSynced(join(from, name), join(staging, name), modeOf(name));
    await verifyBackup(staging, manifest);
  } catch (err) {
    await removeTree(staging).catch(() => undefined);
    if (isNoSpace(err)) {
      throw new SwitchyardError('BACKUP_FAILED', `no space left on the disk under ${dataDir} to copy the backup in; nothing was changed. Free space and restore again`, { errno: 'ENOSPC' }, { cause: err });
    }
    if (err instanceof SwitchyardError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SwitchyardError('BACKUP_INVALID', `the backup in ${from} lacks a part its manifest lists (${(err as Error).message})`, { dir: from }, { cause: err });
    }
    throw new SwitchyardError('BACKUP_FAILED', `copying the backup in failed (nothing was changed): ${(err as Error).message}`, undefined, { cause: err });
  }
}

/** The manifest of `from`, refused when this version cannot restore it (BACKUP_INVALID, BACKUP_TOO_NEW). */
async function checkedManifest(from: string): Promise<BackupManifest> {
  const manifest = await readManifest(from);
  if (Number(manifest.store_format) > Number(STORE_FORMAT_VERSION)) {
    throw new SwitchyardError(
      'BACKUP_TOO_NEW',
      `the backup in ${from} holds a task store in format ${manifest.store_format}; this version reads format ${STORE_FORMAT_VERSION}: restore it with the Switchyard version that wrote it`,
      { dir: from, format: manifest.store_format, supported: STORE_FORMAT_VERSION },
    );
  }
  return manifest;
}

async function pickBackup(dataDir: string, from: string | undefined): Promise<string> {
  if (from !== undefined) {
    const dir = resolve(from);
    if (!(await exists(dir))) throw new SwitchyardError('BACKUP_NOT_FOUND', `there is no folder ${dir} to restore from`, { dir });
    if (basename(dir).startsWith(PARTIAL_PREFIX)) {
      throw new SwitchyardError('BACKUP_INVALID', `${dir} is a backup that never finished (it was not verified): pick a backup without the ${PARTIAL_PREFIX} prefix`, { dir });
    }
    return dir;
  }
  const newest = (await listBackups(dataDir))[0];
  if (!newest) {
    throw new SwitchyardError('BACKUP_NOT_FOUND', `no verified backup in ${join(dataDir, 'backups')}: pass --from DIR, or take one first (switchyard hub backup)`, { dir: dataDir });
  }
  return newest.dir;
}

/** Opens the live task store read-only (STORE_LOCKED if a hub runs), and counts what the backup lacks. */
async function measureLoss(dataDir: string, manifest: BackupManifest): Promise<RestoreLoss> {
  const lost: RestoreLoss = { since: manifest.created_at, until: null, readable: false, newer_events: null, newer_tasks: null };
  for (const store of HUB_STORES) {
    const location = join(dataDir, store.dir);
    if (!(await exists(location))) continue;
    let kv;
    try {
      kv = await openLevelKv(location, { readOnly: true });
    } catch (err) {
      if (err instanceof SwitchyardError && err.code === 'STORE_LOCKED') {
        throw new SwitchyardError('STORE_LOCKED', `a hub is running on ${dataDir} (its ${store.name} store is locked): stop it first, then restore`, { dir: dataDir }, { cause: err });
      }
      continue; // damaged beyond opening: that is what a restore is for
    }
    try {
      if (store.name !== 'tasks') continue;
      lost.readable = true;
      let events = 0;
      const after = manifest.newest_event_id ? { gt: K.event(manifest.newest_event_id), lt: `${K.eventPrefix}\xff` } : { gte: K.eventPrefix, lt: `${K.eventPrefix}\xff` };
      let last: string | null = null;
      for await (const keys of kv.keys(after, 5000)) {
        events += keys.length;
        last = keys[keys.length - 1]!;
      }
      lost.newer_events = events;
      if (last) {
        const raw = await kv.get(last);
        const at = raw === undefined ? undefined : (JSON.parse(raw) as { at?: unknown }).at;
        lost.until = typeof at === 'number' ? at : decodeTime(last.slice(K.eventPrefix.length, K.eventPrefix.length + 10));
      }
      let tasks = 0;
      for await (const keys of kv.keys({ gte: K.task(encodeTime(manifest.created_at + 1)), lt: `${K.taskPrefix}\xff` }, 5000)) tasks += keys.length;
      lost.newer_tasks = tasks;
    } catch {
      lost.readable = false;
    } finally {
      await kv.close().catch(() => undefined);
    }
  }
  return lost;
}

interface Plan {
  staging: string;
  damaged: string;
  files: string[];
}

/** The moves, each skipped when done already, so a second run finishes an interrupted first. */
async function applyPlan(dataDir: string, plan: Plan): Promise<string[]> {
  const moved: string[] = [];
  await mkdir(plan.damaged, { recursive: true });
  const names = [...HUB_STORES.map((s) => s.dir), ...plan.files];
  for (const name of names) {
    const staged = join(plan.staging, name);
    if (!(await exists(staged))) continue; // moved in already
    const live = join(dataDir, name);
    if (await exists(live)) {
      await rename(live, join(plan.damaged, name));
      moved.push(name);
    }
    await rename(staged, live);
  }
  await syncPath(plan.damaged);
  await syncPath(dataDir);
  await unlink(join(dataDir, PLAN_FILE));
  await removeTree(plan.staging);
  if (moved.length === 0) await removeTree(plan.damaged);
  return moved;
}

/**
 * Finishes a restore that stopped between its moves (its plan, `<data>/restore.json`, is still
 * there), and removes a staged copy whose restore stopped before the moves. The hub's start calls
 * it, so a hub never opens a data folder half restored.
 */
export async function finishInterruptedRestore(dataDir: string, log?: Logger): Promise<boolean> {
  let plan: Plan | null = null;
  try {
    plan = JSON.parse(await readFile(join(dataDir, PLAN_FILE), 'utf8')) as Plan;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SwitchyardError('BACKUP_INVALID', `cannot read ${join(dataDir, PLAN_FILE)}: ${(err as Error).message}`);
  }
  if (plan) {
    await applyPlan(dataDir, plan);
    log?.warn({ damaged: plan.damaged }, 'finished a restore that had stopped halfway');
  }
  let names: string[] = [];
  try {
    names = await readdir(dataDir);
  } catch {
    return plan !== null;
  }
  for (const name of names.filter((n) => n.startsWith(STAGING_PREFIX))) await removeTree(join(dataDir, name));
  return plan !== null;
}

/**
 * Whether a process holds LevelDB's lock (a POSIX lock on `<store>/LOCK`) as Linux lists it in
 * /proc/locks (`MAJOR:MINOR:INODE`, hex device numbers), without opening the store, which would
 * rewrite its files. False where it cannot tell (no such file, another system): the open decides.
 */
async function lockHeld(location: string): Promise<boolean> {
  let ino: number;
  let dev: number;
  let locks: string;
  try {
    ({ ino, dev } = await stat(join(location, 'LOCK')));
    locks = await readFile('/proc/locks', 'utf8');
  } catch {
    return false;
  }
  const major = ((dev >> 8) & 0xfff).toString(16).padStart(2, '0');
  const minor = ((dev & 0xff) | ((dev >> 12) & 0xfff00)).toString(16).padStart(2, '0');
  const id = `${major}:${minor}:${ino}`;
  return locks.split('\n').some((line) => line.includes(' POSIX ') && line.split(/\s+/).includes(id));
}

function modeOf(name: string): number {
  return HUB_FILES.find((f) => f.name === name)?.mode ?? 0o600;
}

async function copyFileSynced(from: string, to: string, mode: number): Promise<void> {
  await writeFileAtomic(to, await readFile(from), mode);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The report for people: what the backup holds, where the old data went, what is gone. */
export function describe(report: RestoreReport): string[] {
  const m = report.manifest;
  const lines = [
    `restored ${report.from}`,
    `  taken ${iso(m.created_at)}: ${m.tasks} tasks, ${m.events} events, ${m.agents} agents` +
      (m.newest_event_at !== null ? `; newest event ${iso(m.newest_event_at)}` : ''),
  ];
  for (const s of report.skipped) lines.push(`  SKIPPED a newer backup that does not verify: ${s.dir} (${s.code}: ${s.message})`);
  lines.push(report.moved_to ? `  the replaced data (${report.moved.join(', ')}) was moved to ${report.moved_to}; nothing was deleted` : '  the data folder held no stores to replace');
  const l = report.lost;
  if (!report.moved_to) return lines;
  if (!l.readable) {
    lines.push(`  GONE: every change after ${iso(l.since)} (the replaced task store could not be read, so how many is unknown)`);
  } else if (l.newer_events === 0 && l.newer_tasks === 0) {
    lines.push('  nothing is gone: the replaced task store held no change newer than the backup');
  } else {
    lines.push(
      `  GONE: ${l.newer_tasks} tasks created and ${l.newer_events} task events recorded between ${iso(l.since)} and ${l.until !== null ? iso(l.until) : 'the hub stopped'}; ` +
        'they cannot be recovered from the backup (the replaced store keeps them for inspection)',
    );
  }
  return lines;
}
