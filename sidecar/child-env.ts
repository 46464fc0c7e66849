/**
 * The environment of every process the sidecar starts for a task (the shell command, the Ollama
 * tool loop's commands, Claude Code, the checks) and for its own git and gh: built on purpose from
 * allow-lists, never the sidecar's own environment. A task's command is arbitrary code: whatever
 * its environment holds, it can print into its result (and so into the hub's store and feed).
 *
 *   task processes = BASE_ENV_NAMES (+ the executor's own names) + `envPass` from the config,
 *                    then `env` of the config, of the task's repo and of the task, in that order
 *   git and gh     = BASE_ENV_NAMES + GIT_ENV_NAMES + `envPass`
 *
 * Names starting with SWITCHYARD_ are never passed from the sidecar's environment, whatever a
 * list says: that is where its token (and under `switchyard up`, the admin token) lives.
 */
import { Type } from '@sinclair/typebox';
import type { ExecutorName } from '../shared/task.js';

/** What ordinary tools need to run, and nothing that authenticates. */
export const BASE_ENV_NAMES: readonly string[] = Object.freeze([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'LC_*',
  'TZ',
  'TMPDIR',
  'TERM',
  'NO_COLOR',
  'XDG_CONFIG_HOME',
  'XDG_CACHE_HOME',
  'XDG_DATA_HOME',
  'XDG_RUNTIME_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NODE_EXTRA_CA_CERTS',
]);

/**
 * What an executor needs besides. Claude Code authenticates with ANTHROPIC_API_KEY (or its login
 * under HOME) and reads CLAUDE_* settings; its own tool calls inherit them, which is the price of
 * running it at all (docs/sidecar-processes.md).
 */
export const EXECUTOR_ENV_NAMES: Readonly<Record<ExecutorName, readonly string[]>> = Object.freeze({
  shell: [],
  ollama: [],
  claude: ['ANTHROPIC_*', 'CLAUDE_*', 'DISABLE_AUTOUPDATER', 'DISABLE_TELEMETRY'],
});

/** git's and gh's credentials and identity, for the sidecar's own commits, pushes and PRs. */
export const GIT_ENV_NAMES: readonly string[] = Object.freeze([
  'SSH_AUTH_SOCK',
  'SSH_AGENT_PID',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_ASKPASS',
  'GIT_AUTHOR_NAME',
  'GIT_AUTHOR_EMAIL',
  'GIT_COMMITTER_NAME',
  'GIT_COMMITTER_EMAIL',
  'GIT_CONFIG_GLOBAL',
  'GIT_CONFIG_NOSYSTEM',
  'GH_TOKEN',
  'GITHUB_TOKEN',
  'GH_HOST',
  'GH_ENTERPRISE_TOKEN',
  'GH_CONFIG_DIR',
]);

/** The sidecar's and the hub's own secrets live under this prefix; never inherited. */
const NEVER_INHERITED = /^SWITCHYARD_/;

/** A valid environment variable name (what `env` in a config, repo or task may set). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * An `env` map of a config or a repo: variable name to value. A schema (shared/config-schema.ts
 * keywords), so the sidecar config and the workspace config check it the same way.
 */
export const EnvMap = Type.Record(Type.String({ pattern: ENV_NAME.source }), Type.String(), {
  additionalProperties: false,
  messages: { additionalProperties: "has '{key}', which is not a variable name", type: 'must be an object of NAME: "value"' },
});

function matcher(names: readonly string[]): (name: string) => boolean {
  const exact = new Set(names.filter((n) => !n.endsWith('*')));
  const prefixes = names.filter((n) => n.endsWith('*')).map((n) => n.slice(0, -1));
  return (name) => exact.has(name) || prefixes.some((p) => name.startsWith(p));
}

/** The variables of `source` whose names `names` allows (exact names, or `PREFIX*`). */
export function pickEnv(source: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  const allowed = matcher(names);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined || NEVER_INHERITED.test(name) || !allowed(name)) continue;
    out[name] = value;
  }
  return out;
}

/** How the sidecar's config shapes task environments. */
export interface EnvPolicy {
  /** More names (or `PREFIX*`) passed from the sidecar's environment. @defaultValue [] */
  envPass: readonly string[];
  /** Variables set for every task. @defaultValue {} */
  env: Readonly<Record<string, string>>;
}

/**
 * The whole environment of a task's processes: allow-listed names from `source`, then the
 * values set by the config, the repo and the task (later ones win).
 */
export function taskEnv(
  executor: ExecutorName,
  policy: EnvPolicy,
  layers: ReadonlyArray<Readonly<Record<string, string>> | undefined> = [],
  source: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env = pickEnv(source, [...BASE_ENV_NAMES, ...EXECUTOR_ENV_NAMES[executor], ...policy.envPass]);
  for (const layer of [policy.env, ...layers]) if (layer) Object.assign(env, layer);
  return env;
}

/** The environment of git and gh. */
export function gitEnv(policy: Pick<EnvPolicy, 'envPass'> = { envPass: [] }, source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return pickEnv(source, [...BASE_ENV_NAMES, ...GIT_ENV_NAMES, ...policy.envPass]);
}

/** The base environment of one executor when no task environment is given (describe(), tests). */
export function executorBaseEnv(executor: ExecutorName, source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return pickEnv(source, [...BASE_ENV_NAMES, ...EXECUTOR_ENV_NAMES[executor]]);
}

/**
 * Removes the sidecar's secrets from its own process environment once they are read, so that
 * nothing it starts (nvidia-smi, a library that spawns with process.env) can inherit them.
 */
export function scrubSecrets(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of Object.keys(env)) if (NEVER_INHERITED.test(name) && /TOKEN|SECRET|KEY/.test(name)) delete env[name];
}
