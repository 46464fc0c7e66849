/**
 * What the recovery needs of the newest backup: its folder, time and newest event id, read from
 * `<data>/backups/<time>/manifest.json` defensively (hub/backup/ owns the format; this reads
 * only `created_at` and `newest_event_id`, and skips a manifest it cannot read). The hub may pass
 * its own reader instead (RecoverOptions.backup), e.g. one that verifies the backup.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface BackupInfo {
  dir: string;
  /** When it was taken (ms since epoch), if the manifest says. */
  at: number | null;
  /** The newest event it holds, if the manifest says. */
  newest_event: string | null;
}

export async function newestBackup(dataDir: string): Promise<BackupInfo | null> {
  const root = join(dataDir, 'backups');
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return null;
  }
  // Backup folders are named by their UTC time, so the newest sorts last.
  for (const name of names.sort().reverse()) {
    try {
      const m = JSON.parse(await readFile(join(root, name, 'manifest.json'), 'utf8')) as Record<string, unknown>;
      const id = m.newest_event_id ?? m.newest_event;
      return { dir: join(root, name), at: typeof m.created_at === 'number' ? m.created_at : null, newest_event: typeof id === 'string' ? id : null };
    } catch {
      continue;
    }
  }
  return null;
}
