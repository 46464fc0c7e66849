/**
 * What the hub does with its data folder before it opens the stores (`recoverStores`): what
 * inspect.ts found (a new folder: nothing to do; a damaged store, or one short of acknowledged
 * writes), then the policy (`--on-corruption`):
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
import { join, sep } from 'node:path';
import type { Logger } from 'pino';
import { SwitchyardError } from '../../shared/errors.js';
import type { StoreRecovery } from '../../shared/rest.js';
import type { BackupInfo } from './backups.js';
import { storeDir, type Newest } from './check.js';
import { inspectStores, lostWrites } from './inspect.js';
import type { StoreName } from './marker.js';
import { repairCopy, stampOf } from './repair.js';
import { isBehind } from './watermark.js';

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

export interface RecoverResult {
  fresh: boolean;
  /** Stores to create (open with createIfMissing); every other is opened only if it exists. */
  create: StoreName[];
  /** Null when nothing was wrong. */
  recovery: StoreRecovery | null;
  /** The task store's newest ids as it will open (for the watermark keeper). */
  newest: Newest;
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
  // /v1/health is public: the report names files inside the data folder, not where it is.
  const inData = (text: string) => text.split(`${dataDir}${sep}`).join('');
  const problem = inData(`${first.file} ${first.problem}`);
  const base = { at, problem, problems: found.problems.map(({ store, file, problem }) => ({ store, file: inData(file), problem: inData(problem) })) };
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
    const recovery: StoreRecovery = { ...base, action, moved_aside: repaired.size > 0 ? inData(aside) : null, backup: null, lost: lost(newestAfter) };
    log.error({ recovery, data: dataDir }, action === 'repaired' ? `repaired the damaged store (the damaged files are in ${aside})` : 'kept the store as it is; it lacks acknowledged writes (reported in /v1/health)');
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
  const movedTo = moved.length > 0 ? aside : (outcome.moved_to ?? null);
  const recovery: StoreRecovery = { ...base, action: 'restored', moved_aside: movedTo && inData(movedTo), backup: inData(outcome.from), lost: gap };
  log.error({ recovery, data: dataDir }, `restored the newest backup (${outcome.from}); the replaced store is in ${movedTo ?? '(none was there)'}`);
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
