/**
 * Resolves a path a model or a task gave against a root folder (the task's worktree) and refuses
 * anything that would land outside it: `..` escapes, absolute paths elsewhere, and symlinks
 * (anywhere on the way) that point outside. Checks use real paths, so a symlinked root works.
 *
 * `.git` is refused too: the repository's metadata is the sidecar's to manage (branches, the
 * index, hooks that would run on commit), and its config may hold a remote URL with credentials.
 */
import { lstat, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
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
