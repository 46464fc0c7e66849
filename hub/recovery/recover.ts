/**
 * What the hub does with its data folder before it opens the stores (`recoverStores`):
 *
 *   - a new folder (no marker, no store holding data): nothing; the hub creates the stores and
 *     then the marker;
 *   - otherwise every store must be there and pass its check (check.ts), and the task store must
 *     reach the watermark (the newest change the hub acknowledged) and the newest backup's
 *     newest event. A store that does not is damaged, or lost acknowledged writes;
 *   - then the policy (`--on-corruption`):
 *       refuse   stop with STORE_CORRUPT: the file, the problem, what to run;
 *       repair   repair a copy (repair.ts); use it if it passes the check, reporting what it
 *                lacks of the watermark;
 *       restore  (the default) repair a copy and use it if it is whole (passes the check and
 *                reaches the watermark); else restore the newest verified backup, unless the
 *                store (repaired) already holds more than that backup.
 *
 * Nothing is deleted: a replaced store is moved to `<data>/damaged-<time>/`. What was done is
 * returned (the hub logs it, reports it in /v1/health and emits `store.recovered`).
 */
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SwitchyardError } from '../../shared/errors.js';
import type { StoreRecovery } from '../../shared/rest.js';
import { assertNotLocked } from '../store/level-kv.js';
import { newestBackup, type BackupInfo } from './backups.js';
import { checkStoreFolder, storeDir, type Newest } from './check.js';
import { hasLevelData, readMarker, STORE_NAMES, type StoreName } from './marker.js';
import { repairCopy, stampOf } from './repair.js';
import { isBehind, readWatermark, WATERMARK_FILE, type Watermark } from './watermark.js';

export type CorruptionPolicy = 'restore' | 'repair' | 'refuse';

/** What an automatic restore did (the integrator adapts hub/backup's restoreBackup to this). */
export interface RestoreOutcome {
  /** The backup folder restored from. */
  from: string;
  /** When that backup was taken (ms since epoch), if known. */
  backup_at: number | null;
  /** Where the replaced stores were moved, if the restore moved any. */
  moved_to?: string | null;
}

/**
 * Restores the newest verified backup into the stopped data folder: puts `<data>/tasks` and
 * `<data>/agents` in place (moving any still there aside, never deleting them). Throws when
 * there is none (its message is shown to the operator).
 */
export type RestoreFn = (dataDir: string) => Promise<RestoreOutcome>;

export interface RecoverOptions {
  dataDir: string;
  policy: CorruptionPolicy;
  log: Logger;
  /** Automatic restore; without it the `restore` policy fails with "no backup available". */
  restore?: RestoreFn;
  /** The newest backup's manifest, read defensively. @defaultValue backups.ts newestBackup */
  backup?: (dataDir: string) => Promise<BackupInfo | null>;
  now?: () => number;
}

export interface Problem {
  store: StoreName;
  file: string;
  problem: string;
  /** Damaged files, or a store that opens whole but lacks acknowledged writes. */
  kind: 'damaged' | 'lost-writes';
  /** The store folder is gone (or holds no LevelDB file): nothing to repair. */
  missing?: true;
}

export interface Inspection {
  /** A new data folder: nothing to check, the stores are to be created. */
  fresh: boolean;
  /** Stores to create: all of a new folder, or the agent store missing from a folder from before the marker. */
  create: StoreName[];
  problems: Problem[];
  notes: string[];
  /** The task store's newest ids, when it could be read. */
  newest: Newest | null;
  watermark: Watermark | null;
  backup: BackupInfo | null;
}

export interface RecoverResult {
  fresh: boolean;
  /** Stores to create (open with createIfMissing); every other is opened only if it exists. */
  create: StoreName[];
  /** Null when nothing was wrong. */
  recovery: StoreRecovery | null;
  /** The task store's newest ids as it will open (for the watermark keeper). */
  newest: Newest;
}

/** Checks every store of the data folder; changes nothing. (`switchyard hub check` prints it.) */
export async function inspectStores(
  dataDir: string,
  options: { backup?: (dataDir: string) => Promise<BackupInfo | null>; full?: boolean } = {},
): Promise<Inspection> {
  const readBackup = options.backup ?? newestBackup;
  const marker = await readMarker(dataDir);
  const present = new Map<StoreName, boolean>();
  for (const name of STORE_NAMES) present.set(name, await hasLevelData(storeDir(dataDir, name)));
  const out: Inspection = { fresh: false, create: [], problems: [], notes: [], newest: null, watermark: null, backup: null };
  if (marker === null && ![...present.values()].some(Boolean)) {
    out.fresh = true;
    out.create = [...STORE_NAMES];
    return out;
  }
  const why = marker === null ? 'the other store of this data folder holds data' : `${join(dataDir, 'store.json')} says a hub created this folder's stores`;
  if (marker === 'garbled') out.notes.push(`${join(dataDir, 'store.json')} cannot be read; it is written again once the stores open`);
  for (const name of STORE_NAMES) {
    const dir = storeDir(dataDir, name);
    // Without the marker (a folder from before it) only the task store's absence is damage: the
    // agent store is created again, as every hub before the marker did.
    if (!present.get(name) && (marker !== null || name === 'tasks')) {
      out.problems.push({ store: name, file: dir, problem: `is missing or holds no LevelDB files, but ${why}`, kind: 'damaged', missing: true });
      continue;
    }
    if (!present.get(name)) {
      out.create.push(name);
      continue;
    }
    // A running hub's files are in flux (a table being written fails its footer check), and what
    // follows may move a store aside: first make sure no process has it open.
    await assertNotLocked(dir);
    const check = await checkStoreFolder(dir, name, options.full ?? false);
    out.notes.push(...check.notes);
    for (const p of check.problems) out.problems.push({ store: name, ...p, kind: 'damaged' });
    if (name === 'tasks') out.newest = check.newest;
  }
  const watermark = await readWatermark(dataDir);
  if (watermark === 'garbled') out.notes.push(`${join(dataDir, WATERMARK_FILE)} cannot be read: lost writes cannot be told this time`);
  else if (watermark === null && marker !== null) out.notes.push(`${join(dataDir, WATERMARK_FILE)} is missing: lost writes cannot be told this time`);
  else out.watermark = watermark;
  out.backup = await readBackup(dataDir).catch(() => null);
  if (out.newest) {
    const lost = lostWrites(out.newest, out.watermark, out.backup);
    if (lost) out.problems.push({ store: 'tasks', file: storeDir(dataDir, 'tasks'), problem: lost, kind: 'lost-writes' });
  }
  return out;
}

/** Why a store with these newest ids lacks acknowledged writes, or null. */
export function lostWrites(newest: Newest, watermark: Watermark | null, backup: BackupInfo | null): string | null {
  if (watermark && (isBehind(newest.newest_event, watermark.newest_event) || isBehind(newest.newest_task, watermark.newest_task))) {
    return (
      `the store lost acknowledged writes: its newest event is ${newest.newest_event ?? '(none)'} and its newest task ${newest.newest_task ?? '(none)'}, ` +
      `but the hub acknowledged up to event ${watermark.newest_event} and task ${watermark.newest_task} (watermark.json, ${new Date(watermark.at).toISOString()})`
    );
  }
  if (backup?.newest_event && isBehind(newest.newest_event, backup.newest_event)) {
    return `the store lost acknowledged writes: its newest event is ${newest.newest_event ?? '(none)'}, older than the newest backup's ${backup.newest_event} (${backup.dir})`;
  }
  return null;
}

/** Applies the policy to what inspectStores found; throws STORE_CORRUPT when the hub must not start. */
export async function recoverStores(options: RecoverOptions): Promise<RecoverResult> {
  const { dataDir, policy, log } = options;
  const now = options.now ?? Date.now;
  const found = await inspectStores(dataDir, options.backup ? { backup: options.backup } : {});
  for (const note of found.notes) log.warn({ data: dataDir }, note);
  const none = { newest_event: null, newest_task: null };
  if (found.fresh) return { fresh: true, create: found.create, recovery: null, newest: none };
  if (found.problems.length === 0) return { fresh: false, create: found.create, recovery: null, newest: found.newest ?? none };

  for (const p of found.problems) log.error({ store: p.store, file: p.file, kind: p.kind, policy }, `store damaged: ${p.file} ${p.problem}`);
  const at = now();
  const stamp = stampOf(at);
  const first = found.problems[0]!;
  const problem = `${first.file} ${first.problem}`;
  const base = { at, problem, problems: found.problems.map(({ store, file, problem }) => ({ store, file, problem })) };
  if (policy === 'refuse') throw refusal(dataDir, found.problems, 'the hub is set to refuse to start on a damaged store (--on-corruption refuse)');

  // Repair each damaged store on a copy; a store that only lost writes has nothing to repair.
  const damaged = [...new Set(found.problems.filter((p) => p.kind === 'damaged').map((p) => p.store))];
  const missing = new Set(found.problems.filter((p) => p.missing).map((p) => p.store));
  const repaired = new Map<StoreName, Awaited<ReturnType<typeof repairCopy>>>();
  let repairFailed: string | null = null;
  for (const store of damaged) {
    if (missing.has(store)) {
      repairFailed = `${storeDir(dataDir, store)} is missing: there is nothing to repair`;
      break;
    }
    const r = await repairCopy(dataDir, store, stamp, log);
    repaired.set(store, r);
    if (r.problems.length > 0) {
      repairFailed = `the repaired copy ${r.dir} ${r.problems[0]!.problem}`;
      break;
    }
  }
  const newestAfter = repaired.get('tasks')?.newest ?? found.newest ?? none;
  const shortOf = repairFailed === null ? lostWrites(newestAfter, found.watermark, found.backup) : null;
  const lost = (n: Newest): StoreRecovery['lost'] =>
    found.watermark && lostWrites(n, found.watermark, null)
      ? { acknowledged_event: found.watermark.newest_event, acknowledged_task: found.watermark.newest_task, acknowledged_at: found.watermark.at, newest_event: n.newest_event, newest_task: n.newest_task }
      : null;

  const useRepaired = async (): Promise<RecoverResult> => {
    const aside = join(dataDir, `damaged-${stamp}`);
    for (const [store, r] of repaired) {
      await mkdir(aside, { recursive: true });
      await rename(storeDir(dataDir, store), join(aside, store));
      await rename(r.dir, storeDir(dataDir, store));
    }
    await rm(join(dataDir, `repair-${stamp}`), { recursive: true, force: true });
    const action = repaired.size > 0 ? 'repaired' : 'kept';
    const recovery: StoreRecovery = { ...base, action, moved_aside: repaired.size > 0 ? aside : null, backup: null, lost: lost(newestAfter) };
    log.error({ recovery }, action === 'repaired' ? `repaired the damaged store (the damaged files are in ${aside})` : 'kept the store as it is; it lacks acknowledged writes (reported in /v1/health)');
    return { fresh: false, create: [], recovery, newest: newestAfter };
  };

  if (policy === 'repair') {
    if (repairFailed !== null) throw refusal(dataDir, found.problems, `repair did not give a sound store (${repairFailed})`);
    if (newestAfter.newest_task === null && found.watermark?.newest_task) {
      throw refusal(dataDir, found.problems, 'the repaired task store holds no task at all, though the hub had acknowledged some');
    }
    return useRepaired();
  }

  // restore: a whole repair wins; else the backup, unless the store already holds more than it.
  if (repairFailed === null && shortOf === null) return useRepaired();
  const backupBehind = found.backup?.newest_event !== undefined && found.backup?.newest_event !== null && repairFailed === null && !isBehind(newestAfter.newest_event, found.backup.newest_event);
  if (backupBehind) return useRepaired();
  if (!options.restore) {
    throw refusal(dataDir, found.problems, `${repairFailed ?? shortOf}; and no backup available: this hub has no automatic restore`);
  }
  // The damaged stores go aside first, so nothing opens them with LevelDB again (it would delete
  // a log it replays); the restore puts the backup's stores in their place.
  const aside = join(dataDir, `damaged-${stamp}`);
  const moved = damaged.filter((store) => !missing.has(store));
  for (const store of moved) {
    await mkdir(aside, { recursive: true });
    await rename(storeDir(dataDir, store), join(aside, store));
  }
  await rm(join(dataDir, `repair-${stamp}`), { recursive: true, force: true });
  let outcome: RestoreOutcome;
  try {
    outcome = await options.restore(dataDir);
  } catch (err) {
    // Put the damaged stores back as they were: the operator decides. (rmdir: only if emptied.)
    for (const store of moved) await rename(join(aside, store), storeDir(dataDir, store)).catch(() => undefined);
    if (moved.length > 0) await rmdir(aside).catch(() => undefined);
    throw refusal(dataDir, found.problems, `${repairFailed ?? shortOf}; and restoring the newest backup failed: ${(err as Error).message}`);
  }
  const again = await inspectStores(dataDir, { backup: async () => null, full: true });
  const stillDamaged = again.problems.filter((p) => p.kind === 'damaged');
  if (stillDamaged.length > 0) throw refusal(dataDir, stillDamaged, `the restored backup (${outcome.from}) fails its check too`);
  const restored = again.newest ?? none;
  const gap = lost(restored);
  if (gap) gap.backup_at = outcome.backup_at;
  // A store that only lost writes was left in place for the restore, which moves it aside itself.
  const recovery: StoreRecovery = { ...base, action: 'restored', moved_aside: moved.length > 0 ? aside : (outcome.moved_to ?? null), backup: outcome.from, lost: gap };
  log.error({ recovery }, `restored the newest backup (${outcome.from}); the replaced store is in ${recovery.moved_aside ?? '(none was there)'}`);
  return { fresh: false, create: [], recovery, newest: restored };
}

function refusal(dataDir: string, problems: Array<{ file: string; problem: string }>, what: string): SwitchyardError {
  const list = problems.map((p) => `  ${p.file} ${p.problem}`).join('\n');
  return new SwitchyardError(
    'STORE_CORRUPT',
    `the hub's store is damaged, and it was not started: ${what}.\n${list}\n` +
      `Nothing was deleted. Run \`switchyard hub check --data ${dataDir}\` for the full report; \`switchyard hub restore --data ${dataDir}\` restores the newest backup; ` +
      `or start with --on-corruption repair to accept a repaired store (what it lacks is reported).`,
    { file: problems[0]?.file ?? dataDir },
  );
}
