/**
 * The start-up check of one store folder, in two steps that each name what they found:
 *
 *   1. its files by their own format (level-files.ts), before LevelDB touches them (it deletes
 *      a log it replayed, garbled records and all);
 *   2. only if they are sound: open it read-only. For the task store, the format marker and its
 *      newest event and task ids (what the watermark is compared with), and with `full` the
 *      integrity check (every record parsed, every index key against its record); for the agent
 *      store (small), every entry read.
 */
import { join } from 'node:path';
import { SwitchyardError } from '../../shared/errors.js';
import { K, STORE_FORMAT_VERSION } from '../store/keys.js';
import { prefixRange, type Kv } from '../store/kv.js';
import { openKvTaskStore } from '../store/kv-task-store.js';
import { openLevelKv } from '../store/level-kv.js';
import { checkLevelFiles } from './level-files.js';
import type { StoreName } from './marker.js';

export interface Newest {
  newest_event: string | null;
  newest_task: string | null;
}

export interface FolderCheck {
  /** Each problem: the file (or folder) and what is wrong with it. */
  problems: Array<{ file: string; problem: string }>;
  notes: string[];
  /** The task store's newest ids (null for the agent store, or when it could not be read). */
  newest: Newest | null;
}

/**
 * `full` adds the task store's integrity check (a scan of every key: 3 s for 100,000 tasks, see
 * docs/operations.md): run on a repaired or restored copy, and by `hub check`; a start reads only
 * the format marker and the newest ids, since the files' checksums already vouch for their bytes.
 */
export async function checkStoreFolder(dir: string, store: StoreName, full: boolean): Promise<FolderCheck> {
  const files = await checkLevelFiles(dir);
  const result: FolderCheck = { problems: files.problems, notes: files.notes, newest: null };
  if (files.problems.length > 0) return result;
  let kv: Kv;
  try {
    kv = await openLevelKv(dir, { readOnly: true });
  } catch (err) {
    if (err instanceof SwitchyardError && err.code === 'STORE_LOCKED') throw err;
    result.problems.push({ file: dir, problem: `LevelDB cannot open it: ${causeOf(err)}` });
    return result;
  }
  try {
    if (store === 'tasks') await checkTasks(kv, dir, result, full);
    else await readAll(kv);
  } catch (err) {
    result.problems.push({ file: dir, problem: `cannot be read whole: ${causeOf(err)}` });
  } finally {
    await kv.close().catch(() => undefined);
  }
  return result;
}

async function checkTasks(kv: Kv, dir: string, result: FolderCheck, full: boolean): Promise<void> {
  const version = await kv.get(K.version);
  const newest = { newest_event: await lastKey(kv, K.eventPrefix), newest_task: await lastKey(kv, K.taskPrefix) };
  result.newest = newest;
  if (version === undefined) {
    // openFormat writes the marker when a hub first opens a store: a store without one is not one
    // a hub wrote, whatever else it holds.
    result.problems.push({ file: dir, problem: `has no format marker (${K.version})${newest.newest_task ? ', yet it holds tasks' : ': it is empty'}` });
    return;
  }
  if (version === '2') {
    result.notes.push(`${dir} is in store format 2: the hub migrates it as it opens it`);
    return;
  }
  if (version !== STORE_FORMAT_VERSION) {
    result.problems.push({ file: dir, problem: `has a bad format marker ${JSON.stringify(version.slice(0, 40))} (expected ${STORE_FORMAT_VERSION})` });
    return;
  }
  if (!full) return;
  // The store closes kv when it closes (or fails to open).
  const store = await openKvTaskStore(kv, { readOnly: true });
  try {
    const report = await store.verifyIntegrity();
    if (!report.ok) {
      result.problems.push({ file: dir, problem: `fails the integrity check (${report.problems.length} problems; first: ${report.problems[0]})` });
    }
  } finally {
    await store.close();
  }
}

async function lastKey(kv: Kv, prefix: string): Promise<string | null> {
  for await (const keys of kv.keys({ ...prefixRange(prefix), reverse: true, limit: 1 })) return keys[0]!.slice(prefix.length);
  return null;
}

/** Reading is the check: LevelDB raises on a block it cannot decode. */
async function readAll(kv: Kv): Promise<number> {
  let n = 0;
  for await (const entries of kv.entries({})) n += entries.length;
  return n;
}

function causeOf(err: unknown): string {
  const e = err as Error & { cause?: Error };
  return e.cause?.message ? `${e.message} (${e.cause.message})` : e.message;
}

/** The folder of a store in a data folder. */
export const storeDir = (dataDir: string, store: StoreName) => join(dataDir, store);
