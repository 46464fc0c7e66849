/**
 * LevelDB's repair, on a copy: the damaged store is copied to `<data>/repair-<time>/<store>`,
 * the copy repaired (level-kv.ts repairLevelStore) and checked like any store at start
 * (check.ts). The original is not touched; recover.ts decides whether the copy replaces it.
 */
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { repairLevelStore } from '../store/level-kv.js';
import { checkStoreFolder, storeDir, type FolderCheck } from './check.js';
import type { StoreName } from './marker.js';

export interface RepairResult extends FolderCheck {
  /** The repaired copy. */
  dir: string;
}

/** A folder-name-safe UTC time: 2026-12-02T19-31-03-123Z. */
export const stampOf = (ms: number) => new Date(ms).toISOString().replace(/[:.]/g, '-');

export async function repairCopy(dataDir: string, store: StoreName, stamp: string, log: Logger): Promise<RepairResult> {
  const dir = join(dataDir, `repair-${stamp}`, store);
  await rm(dir, { recursive: true, force: true });
  // The LOCK file is copied too; LevelDB locks with fcntl, not by the file's presence.
  try {
    await cp(storeDir(dataDir, store), dir, { recursive: true });
  } catch (err) {
    // A full disk, most likely: the half copy goes (it is a copy), the original is untouched.
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    return { dir, problems: [{ file: dir, problem: `could not be made, so nothing was repaired: ${(err as Error).message}` }], notes: [], newest: null };
  }
  try {
    await repairLevelStore(dir);
  } catch (err) {
    return { dir, problems: [{ file: dir, problem: (err as Error).message }], notes: [], newest: null };
  }
  const check = await checkStoreFolder(dir, store, true);
  log.warn({ store, copy: dir, problems: check.problems }, check.problems.length === 0 ? 'LevelDB repaired a copy of the damaged store' : 'the repaired copy of the damaged store is not sound');
  return { dir, ...check };
}
