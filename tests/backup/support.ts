/** Helpers of the backup tests: a data folder's contents as data, to say "nothing changed" and "identical". */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { openLevelKv } from '../../hub/store/level-kv.js';

/** Every file under `dir` (relative path -> sha256), and every folder (-> 'dir'). */
export async function treeOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out[relative(dir, p)] = 'dir';
        await walk(p);
      } else out[relative(dir, p)] = createHash('sha256').update(await readFile(p)).digest('hex');
    }
  };
  await walk(dir);
  return out;
}

/** Every key and value of a closed LevelDB store. */
/**
 * The audit entry that records a backup is written once the backup is done, so it is never inside
 * the backup it records: comparisons of a backup with the live store leave it out.
 */
export function withoutBackupAudit(dump: Array<[string, string]>): Array<[string, string]> {
  return dump.filter(([key, value]) => !(key.startsWith('au!') && value.includes('"action":"backup.taken"')));
}

export async function dumpStore(location: string): Promise<Array<[string, string]>> {
  const kv = await openLevelKv(location, { readOnly: true });
  try {
    const out: Array<[string, string]> = [];
    for await (const entries of kv.entries({}, 5000)) out.push(...entries);
    return out;
  } finally {
    await kv.close();
  }
}

export async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
