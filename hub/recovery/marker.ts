/**
 * The data folder's creation marker, `<data>/store.json`: written (atomically) once the hub has
 * created its stores in a new folder. A folder with the marker held stores, so a store that is
 * missing there, or cannot be opened, is damage, never a new store to create (the adversarial
 * test's deleted `tasks/CURRENT` once made an empty store over the old files, and LevelDB then
 * deleted the old table file).
 *
 * A folder from before the marker (an upgrade) counts as holding a store wherever a store folder
 * has LevelDB data files; the marker is written after it opens cleanly.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { readJsonFile } from './json-file.js';
import { DATA_FILE } from './level-files.js';

/** The stores of a data folder, each a LevelDB folder `<data>/<name>`. */
export const STORE_NAMES = ['tasks', 'agents'] as const;
export type StoreName = (typeof STORE_NAMES)[number];

export const MARKER_FILE = 'store.json';

export interface StoreMarker {
  /** The marker's own format. */
  format: 1;
  /** When the hub created the stores (ms since epoch). */
  created_at: number;
  stores: string[];
}

/** The marker, or null when the folder has none; a marker that cannot be read still says "a hub made this folder". */
export async function readMarker(dataDir: string): Promise<StoreMarker | 'garbled' | null> {
  return readJsonFile<StoreMarker>(join(dataDir, MARKER_FILE), (m) => typeof m.created_at === 'number' && Array.isArray(m.stores));
}

export function writeMarker(dataDir: string, createdAt: number): Promise<void> {
  const marker: StoreMarker = { format: 1, created_at: createdAt, stores: [...STORE_NAMES] };
  return writeFileAtomic(join(dataDir, MARKER_FILE), `${JSON.stringify(marker, null, 2)}\n`);
}

/**
 * Whether a store folder holds LevelDB data (CURRENT, a MANIFEST, a log or a table file): a
 * folder with only LOCK and LOG is one LevelDB made before it found nothing to open.
 */
export async function hasLevelData(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).some((f) => DATA_FILE.test(f));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw err;
  }
}
