/** File-system steps a backup and a restore share: fsync a tree, copy a tree, name times. */
import { copyFile, mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** fsyncs every file under `dir`, then each folder, so what is there survives a power cut. */
export async function syncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(path);
    else if (entry.isFile()) await syncPath(path);
  }
  await syncPath(dir);
}

export async function syncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Copies a closed LevelDB folder (or any tree of plain files) and fsyncs the copy. */
export async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    // LevelDB's LOCK file is recreated on open; copying it is harmless but pointless.
    if (entry.name === 'LOCK') continue;
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) await copyTree(src, dst);
    else if (entry.isFile()) await copyFile(src, dst);
  }
  await syncTree(to);
}

export async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A UTC time as a folder name that sorts as time does and has no ':' (2026-12-02T19-30-00.123Z). */
export function timeName(ms: number): string {
  return new Date(ms).toISOString().replace(/:/g, '-');
}

/** Whether a thrown error is the disk filling up. */
export function isNoSpace(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: unknown } | undefined;
  if (!e) return false;
  if (e.code === 'ENOSPC' || /ENOSPC|no space left/i.test(e.message ?? '')) return true;
  return e.cause !== undefined && e.cause !== err && isNoSpace(e.cause);
}
