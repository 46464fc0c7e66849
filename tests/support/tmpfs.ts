/**
 * A small real filesystem that can be filled up: a tmpfs mounted on a temp folder, for tests of
 * a full disk (degraded mode, a full log device). The tests run as root; where mounting is not
 * permitted, `mountTmpfs` FAILS with a message that says so (a missing capability is a failed
 * test, never a skipped one).
 *
 *   const fs = await mountTmpfs(8 * 1024);   // 8 MiB
 *   await fs.fill(0);                         // no byte left
 *   await fs.free();                          // space back
 *   await fs.unmount();                       // (tmpfsAfterEach does it)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { open, statfs, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach } from 'vitest';

const run = promisify(execFile);
const CHUNK = 64 * 1024;

export interface Tmpfs {
  readonly dir: string;
  /** Fills the filesystem with one file, leaving about `leaveKb` KiB free (0: none at all). */
  fill(leaveKb: number): Promise<void>;
  /** Removes what fill() wrote. */
  free(): Promise<void>;
  /** Bytes free now. */
  available(): Promise<number>;
  unmount(): Promise<void>;
}

export async function mountTmpfs(sizeKb: number): Promise<Tmpfs> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `cannot mount a tmpfs on ${dir} (${(err as Error).message.trim()}): the full-disk tests need root with permission to mount (CAP_SYS_ADMIN); run them where \`mount -t tmpfs\` works`,
    );
  }
  const filler = join(dir, 'FILLER');
  let mounted = true;
  const available = async () => {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    available,
    async fill(leaveKb) {
      const file = await open(filler, 'a');
      const block = Buffer.alloc(CHUNK, 0x5a);
      try {
        // Write until the filesystem refuses: ENOSPC is the point.
        for (;;) {
          try {
            await file.write(block);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw err;
          }
        }
        // Then give back what the caller wants left (tmpfs frees pages on truncate).
        if (leaveKb > 0) {
          const { size } = await file.stat();
          await file.truncate(Math.max(0, size - leaveKb * 1024));
        }
      } finally {
        await file.close();
      }
    },
    async free() {
      await unlink(filler).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    },
    async unmount() {
      if (!mounted) return;
      mounted = false;
      // A process that still has a file open there (a hub that did not stop) makes umount fail:
      // detach lazily so the next test is not left with a stale mount.
      await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Call once per file; returns `mount(sizeKb)`, whose filesystems are unmounted after each test. */
export function tmpfsAfterEach(): (sizeKb: number) => Promise<Tmpfs> {
  const mounted: Tmpfs[] = [];
  afterEach(async () => {
    for (const fs of mounted.splice(0).reverse()) await fs.unmount();
  });
  return async (sizeKb) => {
    const fs = await mountTmpfs(sizeKb);
    mounted.push(fs);
    return fs;
  };
}
