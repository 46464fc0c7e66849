/**
 * The workspace's configuration: which repositories this host can work on, and where worktrees
 * and clones live. Validated once, defaults filled in, then frozen.
 */
import { homedir } from 'node:os';
import { checkEnvMap, gitEnv } from '../child-env.js';
import { isAbsolute, join } from 'node:path';
import { sidecarError } from './errors.js';

/** One repository this host can work on. Exactly one of `path` and `url` is given. */
export interface RepoConfig {
  /** The name tasks use in their `repo` field. */
  name: string;
  /** A local clone (absolute path); the sidecar adds worktrees to it and never touches its checkout. */
  path?: string;
  /** A remote to clone into `cacheDir/<name>` on first use. */
  url?: string;
  /** The branch task branches start from and PRs target. @defaultValue 'main' */
  default_branch?: string;
  /** The command `test_passes` runs when a step names none. @defaultValue null */
  test_command?: string | null;
  /** The remote fetched from and pushed to. @defaultValue 'origin' */
  remote?: string;
  /** Variables set for every task on this repo (over the sidecar's `env`, under the task's). @defaultValue {} */
  env?: Record<string, string>;
}

/** A repository with its defaults filled in. */
export interface ResolvedRepo {
  name: string;
  /** Where the local clone is (the configured path, or the cache clone of a url). */
  dir: string;
  url: string | null;
  default_branch: string;
  test_command: string | null;
  remote: string;
  env: Readonly<Record<string, string>>;
}

/** Options of the workspace manager. */
export interface WorkspaceOptions {
  repos: RepoConfig[];
  /** Where task worktrees are made, one folder per repo. @defaultValue ~/.switchyard/worktrees */
  worktreesRoot: string;
  /** Where `url` repositories are cloned. @defaultValue ~/.switchyard/repos */
  cacheDir: string;
  /** @defaultValue 'git' */
  git: string;
  /** The GitHub CLI, used for PRs when installed and logged in. @defaultValue 'gh' */
  gh: string;
  /** Base environment of git and gh. @defaultValue allow-listed names only, with git's and gh's credentials (child-env.ts) */
  env: NodeJS.ProcessEnv;
  /** Limit of a local git command. @defaultValue 60000 */
  gitTimeoutMs: number;
  /** Limit of clone, fetch, push and PR creation. @defaultValue 300000 */
  networkTimeoutMs: number;
  /**
   * Author and committer of task commits. When null, git's configured identity is used, and
   * a Switchyard identity when git has none. @defaultValue null
   */
  commitAuthor: { name: string; email: string } | null;
  /** Open a PR after pushing, when gh can. @defaultValue true */
  openPullRequests: boolean;
}

export const WORKSPACE_DEFAULTS: Readonly<Omit<WorkspaceOptions, 'repos' | 'env'>> = Object.freeze({
  worktreesRoot: join(homedir(), '.switchyard', 'worktrees'),
  cacheDir: join(homedir(), '.switchyard', 'repos'),
  git: 'git',
  gh: 'gh',
  gitTimeoutMs: 60_000,
  networkTimeoutMs: 300_000,
  commitAuthor: null,
  openPullRequests: true,
});

/** The identity used when git has none configured. */
export const FALLBACK_AUTHOR = Object.freeze({ name: 'Switchyard', email: 'switchyard@localhost' });

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const REF_RE = /^(?!.*\.\.)(?!.*\/\/)(?!\/)(?!.*\/$)(?!.*\.lock$)[A-Za-z0-9._/-]+$/;

/** Fills in defaults and validates; throws SIDECAR_CONFIG_INVALID naming the bad field. */
export function resolveWorkspaceOptions(opts: Partial<WorkspaceOptions> & { repos: RepoConfig[] }): Readonly<WorkspaceOptions> {
  const o: WorkspaceOptions = { ...WORKSPACE_DEFAULTS, env: gitEnv(), ...opts };
  const bad = (field: string, why: string) => sidecarError('SIDECAR_CONFIG_INVALID', `workspace config: ${field} ${why}`, { field });
  if (!isAbsolute(o.worktreesRoot)) throw bad('worktreesRoot', 'must be an absolute path');
  if (!isAbsolute(o.cacheDir)) throw bad('cacheDir', 'must be an absolute path');
  const seen = new Set<string>();
  o.repos.forEach((r, i) => {
    const at = `repos[${i}]`;
    if (typeof r.name !== 'string' || !NAME_RE.test(r.name) || r.name.length > 64) {
      throw bad(`${at}.name`, 'must be 1-64 of A-Z a-z 0-9 . _ - (starting with a letter or digit)');
    }
    if (seen.has(r.name)) throw bad(`${at}.name`, `'${r.name}' is listed twice`);
    seen.add(r.name);
    if ((r.path === undefined) === (r.url === undefined)) throw bad(at, 'needs exactly one of path and url');
    if (r.path !== undefined && !isAbsolute(r.path)) throw bad(`${at}.path`, 'must be an absolute path');
    if (r.default_branch !== undefined && !REF_RE.test(r.default_branch)) throw bad(`${at}.default_branch`, 'is not a valid branch name');
    if (r.remote !== undefined && !NAME_RE.test(r.remote)) throw bad(`${at}.remote`, 'is not a valid remote name');
    const envProblem = r.env === undefined ? null : checkEnvMap(r.env);
    if (envProblem) throw bad(`${at}.env`, envProblem);
  });
  return Object.freeze({ ...o, repos: o.repos.map((r) => Object.freeze({ ...r })) });
}

export function resolveRepo(r: RepoConfig, cacheDir: string): ResolvedRepo {
  return {
    name: r.name,
    dir: r.path ?? join(cacheDir, r.name),
    url: r.url ?? null,
    default_branch: r.default_branch ?? 'main',
    test_command: r.test_command ?? null,
    remote: r.remote ?? 'origin',
    env: r.env ?? {},
  };
}
