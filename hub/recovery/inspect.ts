/**
 * What is wrong with a data folder, if anything (`inspectStores`); changes nothing, so
 * `switchyard hub check` prints it as it is and recover.ts decides what to do about it.
 *
 *   - a new folder (no marker, no store holding data) is `fresh`: the hub creates the stores;
 *   - otherwise every store must be there (marker.ts), nobody may have it open, and it must pass
 *     its check (check.ts); and the task store must reach the watermark (the newest change the
 *     hub acknowledged) and the newest backup's newest event (`lostWrites`).
 */
import { join } from 'node:path';
import { assertNotLocked } from '../store/level-kv.js';
import { newestBackup, type BackupInfo } from './backups.js';
import { checkStoreFolder, storeDir, type Newest } from './check.js';
import { hasLevelData, readMarker, STORE_NAMES, type StoreName } from './marker.js';
import { isBehind, readWatermark, WATERMARK_FILE, type Watermark } from './watermark.js';

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
