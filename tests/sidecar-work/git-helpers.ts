/** Real git repositories for tests: a bare "remote", clones, commits. */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Git identity and no global/system config, so tests do not depend on the host's git setup. */
export const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec('git', args, { cwd, env: GIT_ENV });
  return stdout.trim();
}

/** Writes files (path -> content) under `root`, creating folders. */
export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

/** A repository with one commit holding `files` on branch `main`. */
export async function initRepo(dir: string, files: Record<string, string> = { 'README.md': '# test\n' }): Promise<void> {
  await mkdir(dir, { recursive: true });
  await git(dir, 'init', '-q', '-b', 'main');
  await writeFiles(dir, files);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'initial');
}

/**
 * A bare remote at `<root>/remote.git` whose `main` holds `files`, and a clone of it at
 * `<root>/clone` (the sidecar's local repo).
 */
export async function remoteAndClone(root: string, files?: Record<string, string>): Promise<{ remote: string; clone: string }> {
  const seed = join(root, 'seed');
  const remote = join(root, 'remote.git');
  const clone = join(root, 'clone');
  await initRepo(seed, files);
  await git(root, 'init', '-q', '--bare', '-b', 'main', remote);
  await git(seed, 'push', '-q', remote, 'main');
  await git(root, 'clone', '-q', remote, clone);
  return { remote, clone };
}
