/**
 * The repo registry (docs/repos.md): repos kept at the hub with their clone URL, default branch,
 * test command, priority and whether their work is served now. One definition for the stored
 * record, the REST bodies and the view a sidecar takes its settings from.
 *
 * A repo's name is narrower than an id (shared/ids.ts): a sidecar uses it as a folder name (its
 * cache clone), so no `:`, `/` or `@` — the same rule as a repo in the sidecar's own config.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Nullable, StringEnum } from './schema.js';

/** A repo's name: what tasks put in `repo`, and a folder name on every host. */
export const REPO_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$';
export const REPO_NAME_RULE = 'must be 1-64 of A-Z a-z 0-9 . _ - (starting with a letter or digit)';
export const RepoName = Type.String({ minLength: 1, maxLength: 64, pattern: REPO_NAME_PATTERN });

/** A branch name git accepts (no `..`, `//`, leading or trailing `/`, `.lock` ending). */
export const BRANCH_PATTERN = '^(?!.*\\.\\.)(?!.*//)(?!/)(?!.*/$)(?!.*\\.lock$)[A-Za-z0-9._/-]+$';
const Branch = Type.String({ minLength: 1, maxLength: 200, pattern: BRANCH_PATTERN });
const Url = Type.String({ minLength: 1, maxLength: 2000 });
const Command = Type.String({ minLength: 1, maxLength: 2000 });
/** Higher is served first within a lane; 0 when not given. */
const Priority = Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 });

export const REPO_STATUSES = ['active', 'paused'] as const;
export type RepoStatus = (typeof REPO_STATUSES)[number];

/** A repo as the hub keeps it (`rp!<name>` in the agents database). */
export const Repo = Type.Object(
  {
    name: RepoName,
    url: Url,
    default_branch: Branch,
    test_command: Type.Union([Command, Type.Null()]),
    priority: Priority,
    status: StringEnum(REPO_STATUSES),
    /** Why it is paused, as the operator said (empty when none was given or it is active). */
    paused_reason: Type.String({ maxLength: 500 }),
    created_at: Type.Integer(),
    updated_at: Type.Integer(),
  },
);
export type Repo = Static<typeof Repo>;

/** `POST /v1/repos`. */
export const RepoAddBody = Type.Object(
  {
    name: RepoName,
    url: Url,
    /** @defaultValue 'main' */
    default_branch: Type.Optional(Branch),
    test_command: Type.Optional(Command),
    /** @defaultValue 0 */
    priority: Type.Optional(Priority),
  },
  { additionalProperties: false },
);
export type RepoAddBody = Static<typeof RepoAddBody>;

/** `PATCH /v1/repos/:name`: what to change; `test_command: null` removes it. */
export const RepoPatchBody = Type.Object(
  {
    url: Type.Optional(Url),
    default_branch: Type.Optional(Branch),
    test_command: Type.Optional(Type.Union([Command, Type.Null()])),
    priority: Type.Optional(Priority),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type RepoPatchBody = Static<typeof RepoPatchBody>;

/** `POST /v1/repos/:name/move`. */
export const RepoMoveBody = Type.Object({ priority: Priority }, { additionalProperties: false });
export type RepoMoveBody = Static<typeof RepoMoveBody>;

/** `POST /v1/repos/:name/pause`: the body is optional (none, as a task action's). */
export const RepoPauseBody = Nullable(Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }));
export type RepoPauseBody = Static<typeof RepoPauseBody>;

export const RepoNameParams = Type.Object({ name: RepoName }, { additionalProperties: false });

export const RepoList = Type.Object({ repos: Type.Array(Repo) });
export type RepoList = Static<typeof RepoList>;

/**
 * What a sidecar takes from the hub (`GET /v1/agent/repos`): the settings a host needs to work
 * on a repo, every repo whatever its status (a paused repo's tasks only wait; a host still
 * knows the repo).
 */
export const AgentRepo = Type.Object({
  name: RepoName,
  url: Url,
  default_branch: Branch,
  test_command: Type.Union([Command, Type.Null()]),
});
export type AgentRepo = Static<typeof AgentRepo>;

export const AgentRepoList = Type.Object({ repos: Type.Array(AgentRepo) });
export type AgentRepoList = Static<typeof AgentRepoList>;

/** The agent's view of a repo record. */
export function agentRepoOf(r: Repo): AgentRepo {
  return { name: r.name, url: r.url, default_branch: r.default_branch, test_command: r.test_command };
}
