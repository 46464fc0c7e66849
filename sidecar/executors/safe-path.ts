/**
 * Resolves a path a model or a task gave against a root folder (the task's worktree) and refuses
 * anything that would land outside it: `..` escapes, absolute paths elsewhere, and symlinks
 * (anywhere on the way) that point outside. Checks use real paths, so a symlinked root works.
 *
 * `.git` is refused too: the repository's metadata is the sidecar's to manage (branches, the
 * index, hooks that would run on commit), and its config may hold a remote URL with credentials.
 *
 * A hard link is no path trick, so no path check sees it: `ln /outside/file f` (a verification
 * step or run_command can do it) makes `f` the outside file itself, inode and all. So files with
 * more than one link are refused, checked on the opened handle (fstat) rather than on the path,
 * so the file checked is the file read; and writes go to a new file renamed into place, which
 * replaces the directory entry and never writes into an inode that a link planted after the
 * check shares with a file elsewhere.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, realpath, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SwitchyardError } from '../../shared/errors.js';

/** Thrown for a refused path. */
export function pathRefused(path: string, why: string): SwitchyardError {
  return new SwitchyardError('SIDECAR_PATH_ESCAPE', `path '${path}' refused: ${why}`, { path });
}

/** True when `child` is `root` or inside it (both absolute and normalised). */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

/**
 * For reading: the real path of an existing file or folder inside `root`.
 * Throws {@link pathRefused} for an escape, and the fs error (ENOENT...) for a missing path.
 */
export async function resolveForRead(root: string, path: string): Promise<string> {
  const { rootReal, target } = await lexical(root, path);
  const real = await realpath(target);
  if (!isInside(rootReal, real)) throw pathRefused(path, 'it leads outside the workspace');
  refuseGit(rootReal, real, path);
  return real;
}

/**
 * For writing: the path to write, inside `root`. The file need not exist; its nearest existing
 * ancestor must resolve inside `root`, and an existing symlink at the path itself must point
 * inside too (a dangling one is refused: writing through it would create its target).
 */
export async function resolveForWrite(root: string, path: string): Promise<string> {
  const { rootReal, target } = await lexical(root, path);
  const st = await lstat(target).catch(() => null);
  if (st) {
    if (st.isSymbolicLink()) {
      const real = await realpath(target).catch(() => null);
      if (real === null) throw pathRefused(path, 'it is a symlink to nothing');
      if (!isInside(rootReal, real)) throw pathRefused(path, 'it leads outside the workspace');
      refuseGit(rootReal, real, path);
      return real;
    }
    if (st.isDirectory()) throw pathRefused(path, 'it is a folder');
  }
  let ancestor = dirname(target);
  for (;;) {
    const real = await realpath(ancestor).catch(() => null);
    if (real !== null) {
      if (!isInside(rootReal, real)) throw pathRefused(path, 'it leads outside the workspace');
      refuseGit(rootReal, resolve(real, relative(ancestor, target)), path);
      return resolve(real, relative(ancestor, target));
    }
    const up = dirname(ancestor);
    if (up === ancestor) throw pathRefused(path, 'no existing folder above it');
    ancestor = up;
  }
}

async function lexical(root: string, path: string): Promise<{ rootReal: string; target: string }> {
  if (typeof path !== 'string' || path.includes('\0')) throw pathRefused(String(path), 'not a valid path');
  const rootReal = await realpath(root);
  const target = resolve(rootReal, path === '' ? '.' : path);
  if (!isInside(rootReal, target)) throw pathRefused(path, 'it leads outside the workspace');
  refuseGit(rootReal, target, path);
  return { rootReal, target };
}

function refuseGit(rootReal: string, target: string, path: string): void {
  const first = relative(rootReal, target).split(sep)[0];
  if (first === '.git') throw pathRefused(path, '.git belongs to the sidecar');
}

/**
 * Opens a file for reading: no symlink as the last step (the path was resolved already, so one
 * there now was planted since), and non-blocking, so that a FIFO cannot hang the open. Throws
 * {@link pathRefused} for anything but a plain file with one link; the caller closes the handle.
 * A folder comes back with `folder: true` and no handle.
 */
export async function openForRead(root: string, path: string): Promise<{ real: string; fh: FileHandle; stat: Stats } | { real: string; folder: true }> {
  const real = await resolveForRead(root, path);
  const fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = await fh.stat();
    if (stat.isDirectory()) {
      await fh.close();
      return { real, folder: true };
    }
    refuseUnlikeAFile(stat, path);
    return { real, fh, stat };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Replaces (or creates) the file at `target`, a path from {@link resolveForWrite}: the content
 * goes to a new temp file beside it, which is renamed over it. An existing file keeps its mode
 * (an executable script stays executable) and must be a plain file with one link.
 */
export async function replaceFile(target: string, path: string, content: string | Uint8Array): Promise<void> {
  let mode: number | null = null;
  const existing = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    if (err.code === 'ELOOP') throw pathRefused(path, 'it became a symlink');
    throw err;
  });
  if (existing) {
    try {
      const stat = await existing.stat();
      if (stat.isDirectory()) throw pathRefused(path, 'it is a folder');
      refuseUnlikeAFile(stat, path);
      mode = stat.mode & 0o7777;
    } finally {
      await existing.close();
    }
  }
  // 'wx' (O_EXCL) creates a new file or fails; it never opens, or follows a symlink to, one
  // that is there already.
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode ?? 0o666);
  try {
    if (mode !== null) await fh.chmod(mode); // exactly, whatever the umask
    await fh.writeFile(content);
    await fh.close();
    await rename(tmp, target);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Refuses what is not a plain file with a single link (a FIFO, a device, a hard-linked file). */
function refuseUnlikeAFile(stat: Stats, path: string): void {
  if (!stat.isFile()) throw pathRefused(path, 'it is not a regular file');
  if (stat.nlink > 1) {
    throw pathRefused(path, `it has ${stat.nlink} hard links, so it may be a file outside the workspace as well`);
  }
}
