/**
 * Temp folders for bench stores, removed at the end however the bench ends (error or Ctrl-C).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made = new Set<string>();

/** A new empty folder under `root` (os.tmpdir() unless given). */
export function tempDir(prefix: string, root = os.tmpdir()): string {
  const dir = mkdtempSync(path.join(root, `${prefix}-`));
  made.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}

/** Removes every folder made by tempDir that is still there. Synchronous so that it works on exit. */
export function removeAll(): void {
  for (const dir of made) removeDir(dir);
}

let hooked = false;

/** Removes the temp folders on normal exit and on SIGINT/SIGTERM. */
export function cleanUpOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', removeAll);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      removeAll();
      process.exit(code);
    });
  }
}
