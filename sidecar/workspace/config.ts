/**
 * The workspace's configuration: which repositories this host can work on, and where worktrees
 * and clones live. Validated once, defaults filled in, then frozen.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { checkConfig, defaultsOf } from '../../shared/config-schema.js';
import { EnvMap, gitEnv } from '../child-env.js';
import { sidecarError } from './errors.js';
import { BRANCH_PATTERN, REPO_NAME_PATTERN, REPO_NAME_RULE } from '../../shared/repos.js';

const NAME_RE = new RegExp(REPO_NAME_PATTERN);
const REF_RE = new RegExp(BRANCH_PATTERN);
const AbsolutePath = Type.String({ pattern: '^/', invalid: 'must be an absolute path' });

/**
 * One repository this host can work on: the one definition (the sidecar's config file lists
 * these under `repos`). Exactly one of `path` and `url` is given. Keywords such as `invalid` are
 * shared/config-schema.ts's.
 */
export const RepoConfig = Type.Object(
  {
    /**
     * The name tasks use in their `repo` field; also a folder name (the cache clone), so narrower
     * than an id: no `:`, `/` or `@`.
     */
    name: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: NAME_RE.source,
      invalid: REPO_NAME_RULE,
    }),
    /**
     * A local checkout (absolute path) whose remote (`origin` unless `remote` says otherwise)
     * receives the task branches. The sidecar adds worktrees and remote-tracking refs to it and
     * never touches its own checkout.
     */
    path: Type.Optional(AbsolutePath),
    /** A remote to clone into `cacheDir/<name>` on first use. */
    url: Type.Optional(Type.String({ minLength: 1 })),
    /** The branch task branches start from and PRs target. @defaultValue 'main' */
    default_branch: Type.Optional(Type.String({ pattern: REF_RE.source, default: 'main', invalid: 'is not a valid branch name' })),
    /** The command `test_passes` runs when a step names none. @defaultValue null */
    test_command: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null, invalid: 'must be a command or null' })),
    /**
     * The security guardian's dependency audit, printing `npm audit --json`'s report.
     * @defaultValue null: `npm audit --json` where the repo has a package-lock.json
     */
    audit_command: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null, invalid: 'must be a command or null' })),
    /** The remote fetched from and pushed to. @defaultValue 'origin' */
    remote: Type.Optional(Type.String({ pattern: NAME_RE.source, default: 'origin', invalid: 'is not a valid remote name' })),
    /** Variables set for every task on this repo (over the sidecar's `env`, under the task's). @defaultValue {} */
    env: Type.Optional({ ...EnvMap, default: {} }),
  },
  {
    additionalProperties: false,
    oneOf: [{ required: ['path'] }, { required: ['url'] }],
    messages: { oneOf: 'needs exactly one of path and url' },
  },
);
export type RepoConfig = Static<typeof RepoConfig>;

/** A repo entry's defaults, from the schema. */
const REPO_DEFAULTS = defaultsOf(RepoConfig) as Required<Pick<RepoConfig, 'default_branch' | 'test_command' | 'audit_command' | 'remote' | 'env'>>;

/** What resolveWorkspaceOptions checks by schema; the rest of WorkspaceOptions is set by code, not by people. */
const WorkspaceConfig = Type.Object({
  repos: Type.Array(RepoConfig),
  worktreesRoot: AbsolutePath,
  cacheDir: AbsolutePath,
});

/** A repository with its defaults filled in. */
export interface ResolvedRepo {
  name: string;
  /** Where the local clone is (the configured path, or the cache clone of a url). */
  dir: string;
  url: string | null;
  default_branch: string;
  test_command: string | null;
  audit_command: string | null;
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

/** Fills in defaults and validates; throws SIDECAR_CONFIG_INVALID naming the bad field. */
export function resolveWorkspaceOptions(opts: Partial<WorkspaceOptions> & { repos: RepoConfig[] }): Readonly<WorkspaceOptions> {
  const o: WorkspaceOptions = { ...WORKSPACE_DEFAULTS, env: gitEnv(), ...opts };
  const bad = (field: string, message: string) => sidecarError('SIDECAR_CONFIG_INVALID', `workspace config: ${message}`, { field });
  // A copy: the schema fills in each repo's defaults, and the caller's entries may be frozen.
  const checked = structuredClone({ repos: o.repos, worktreesRoot: o.worktreesRoot, cacheDir: o.cacheDir });
  const problem = checkConfig(WorkspaceConfig, checked);
  if (problem) throw bad(problem.field, problem.message);
  const seen = new Set<string>();
  checked.repos.forEach((r, i) => {
    if (seen.has(r.name)) throw bad(`repos[${i}].name`, `repos[${i}].name '${r.name}' is listed twice`);
    seen.add(r.name);
  });
  return Object.freeze({ ...o, repos: checked.repos.map((r) => Object.freeze(r)) });
}

export function resolveRepo(r: RepoConfig, cacheDir: string): ResolvedRepo {
  return {
    name: r.name,
    dir: r.path ?? join(cacheDir, r.name),
    url: r.url ?? null,
    default_branch: r.default_branch ?? REPO_DEFAULTS.default_branch,
    test_command: r.test_command ?? REPO_DEFAULTS.test_command,
    audit_command: r.audit_command ?? REPO_DEFAULTS.audit_command,
    remote: r.remote ?? REPO_DEFAULTS.remote,
    env: r.env ?? REPO_DEFAULTS.env,
  };
}
