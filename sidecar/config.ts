/**
 * The sidecar's configuration: one schema with the defaults, then the JSON config file (--config),
 * then environment, then flags (flag > env > file > default). Validated once at start and frozen.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { checkConfig, deepFreeze, defaultsOf, mergeLayers } from '../shared/config-schema.js';
import { SwitchyardError } from '../shared/errors.js';
import { ID_RULE, Id } from '../shared/ids.js';
import { LogLevel } from '../shared/logger.js';
import { ExecutorName } from '../shared/task.js';
import { EnvMap } from './child-env.js';
import { RepoConfig } from './workspace/config.js';

/** One repo this host works on: the workspace's definition (one definition for both). */
export { RepoConfig } from './workspace/config.js';

const int = (minimum: number, maximum: number, dflt: number, more: { env?: string; flag?: string } = {}) =>
  Type.Integer({ minimum, maximum, default: dflt, ...more });
const list = <T extends Parameters<typeof Type.Array>[0]>(items: T, more: { env?: string; flag?: string; maxItems?: number } = {}) =>
  Type.Array(items, { default: [], ...more });

export const SidecarConfigSchema = Type.Object(
  {
    /** Hub base URL, http(s) or ws(s). (SWITCHYARD_HUB, --hub) */
    hubUrl: Type.String({ minLength: 1, env: 'SWITCHYARD_HUB', flag: '--hub', missing: 'the hub URL is missing: pass --hub URL or set SWITCHYARD_HUB' }),
    /** This agent's id, as registered at the hub. (SWITCHYARD_AGENT_ID, --agent) */
    agentId: Type.String({ ...Id, invalid: ID_RULE, env: 'SWITCHYARD_AGENT_ID', flag: '--agent', missing: 'the agent id is missing: pass --agent ID or set SWITCHYARD_AGENT_ID' }),
    /**
     * This agent's token. Read once at start and kept out of every child process. Prefer
     * `tokenFile`: a token in the environment or argv is visible to other processes of the user.
     * (SWITCHYARD_TOKEN, --token)
     */
    token: Type.String({
      minLength: 1,
      maxLength: 512,
      secret: true,
      env: 'SWITCHYARD_TOKEN',
      flag: '--token',
      missing: 'the agent token is missing: pass --token-file FILE (mode 0600) or set SWITCHYARD_TOKEN (from `switchyard agent add`)',
    }),
    /** A file (mode 0600 or stricter) holding the token, read when no token is given. (SWITCHYARD_TOKEN_FILE, --token-file) */
    tokenFile: Type.Optional(Type.String({ minLength: 1, env: 'SWITCHYARD_TOKEN_FILE', flag: '--token-file' })),
    /** More variable names (or `PREFIX*`) task processes inherit besides the built-in allow-list. @defaultValue [] */
    envPass: list(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*\\*?$', invalid: 'must be a variable name (a trailing * matches a prefix)' })),
    /** Variables set for every task's processes. @defaultValue {} */
    env: { ...EnvMap, default: {} },
    /** Local state and workspaces. @defaultValue ./.switchyard/sidecar-<agentId> (SWITCHYARD_SIDECAR_DATA, --data) */
    dataDir: Type.Optional(Type.String({ minLength: 1, env: 'SWITCHYARD_SIDECAR_DATA', flag: '--data' })),
    /** Capabilities offered, beyond executors and models. @defaultValue [] (SWITCHYARD_CAPABILITIES, comma-separated; --capabilities) */
    capabilities: list(Type.String({ ...Id, invalid: ID_RULE }), { maxItems: 64, env: 'SWITCHYARD_CAPABILITIES', flag: '--capabilities' }),
    /** Tasks run at once. @defaultValue 1 (SWITCHYARD_MAX_CONCURRENCY, --concurrency) */
    maxConcurrency: int(1, 256, 1, { env: 'SWITCHYARD_MAX_CONCURRENCY', flag: '--concurrency' }),
    /** Executors to offer. @defaultValue ['shell'] (SWITCHYARD_EXECUTORS, comma-separated; --executors) */
    executors: Type.Array(
      { ...ExecutorName, invalid: 'names unknown executor {value}; known: {allowed}' },
      { default: ['shell'], env: 'SWITCHYARD_EXECUTORS', flag: '--executors' },
    ),
    /** Ollama's base URL. @defaultValue http://127.0.0.1:11434 (OLLAMA_HOST; `host:port` means http) */
    ollamaUrl: Type.String({ minLength: 1, default: 'http://127.0.0.1:11434', env: 'OLLAMA_HOST' }),
    /** Path of the Claude Code CLI. @defaultValue claude */
    claudeBinary: Type.String({ minLength: 1, default: 'claude' }),
    /** Claude models this host offers for routing (tasks naming a model need it listed). @defaultValue [] */
    claudeModels: list(Type.String({ minLength: 1, maxLength: 256 })),
    /** Repos this host works on. @defaultValue [] (then only tasks without a repo) */
    repos: list(RepoConfig, { maxItems: 256 }),
    /** First reconnect delay; doubles up to reconnectMaxMs, with jitter. @defaultValue 500 */
    reconnectMinMs: int(10, 3_600_000, 500),
    /** @defaultValue 30000 (SWITCHYARD_RECONNECT_MAX_MS) */
    reconnectMaxMs: int(10, 3_600_000, 30_000, { env: 'SWITCHYARD_RECONNECT_MAX_MS' }),
    /** On SIGTERM, how long running tasks may finish before they are handed back. @defaultValue 30000 (SWITCHYARD_DRAIN_GRACE_MS) */
    drainGraceMs: int(0, 86_400_000, 30_000, { env: 'SWITCHYARD_DRAIN_GRACE_MS' }),
    /** Default time limit of a task's command when the task sets none. @defaultValue 3600000 */
    taskTimeoutMs: int(1000, 7 * 86_400_000, 3_600_000),
    /** @defaultValue nvidia-smi */
    nvidiaSmi: Type.String({ minLength: 1, default: 'nvidia-smi' }),
    /** First recheck of an executor a run found at fault; doubles up to recheckMaxMs. @defaultValue 15000 */
    recheckMinMs: int(10, 86_400_000, 15_000),
    /** @defaultValue 300000 */
    recheckMaxMs: int(10, 86_400_000, 300_000),
    /** How often working executors are proven again with a real generation (docs/host-faults.md); 0: only at start and after a fault. @defaultValue 300000 */
    healthCheckMs: int(0, 86_400_000, 300_000),
    /** Failed periodic checks in a row that mark a working executor unhealthy (one miss does not). @defaultValue 3 */
    healthFailures: int(1, 100, 3),
    /** @defaultValue info (SWITCHYARD_LOG_LEVEL) */
    logLevel: LogLevel,
  },
  { additionalProperties: false },
);

/** The validated config: every setting present (dataDir filled in from the agent id when not given). */
export type SidecarConfig = Static<typeof SidecarConfigSchema> & { dataDir: string };

/** Every setting's default (from the schema). */
export const SIDECAR_DEFAULTS = defaultsOf(SidecarConfigSchema);

function fail(message: string, field?: string): never {
  throw new SwitchyardError('VALIDATION_FAILED', `sidecar config: ${message}`, field ? { field } : {});
}

/** Flags as given (strings are converted by type); `configFile` names the JSON file (else SWITCHYARD_SIDECAR_CONFIG). */
export type SidecarFlags = Partial<Record<keyof SidecarConfig, unknown>> & { configFile?: string };

export function loadSidecarConfig(flags: SidecarFlags = {}, env: NodeJS.ProcessEnv = process.env): Readonly<SidecarConfig> {
  let file: { path: string; values: Record<string, unknown> } | undefined;
  const configFile = flags.configFile ?? env.SWITCHYARD_SIDECAR_CONFIG;
  if (configFile) {
    let values: unknown;
    try {
      values = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (err) {
      fail(`cannot read ${configFile}: ${(err as Error).message}`);
    }
    if (typeof values !== 'object' || values === null || Array.isArray(values)) fail(`${configFile} must hold a JSON object of settings`);
    file = { path: configFile, values: values as Record<string, unknown> };
  }
  const { configFile: _ignored, ...flagValues } = flags;
  const ollama = env.OLLAMA_HOST;
  const envView = ollama && !/^https?:\/\//.test(ollama) ? { ...env, OLLAMA_HOST: `http://${ollama}` } : env;
  const { values, sources } = mergeLayers(SidecarConfigSchema, { ...(file ? { file } : {}), env: envView, flags: flagValues });
  if (values.token === undefined && typeof values.tokenFile === 'string') {
    values.token = readTokenFile(values.tokenFile);
    sources.token = values.tokenFile;
  }
  const problem = checkConfig(SidecarConfigSchema, values, sources);
  if (problem) fail(problem.message, problem.field);
  const cfg = values as SidecarConfig;
  if (cfg.reconnectMaxMs < cfg.reconnectMinMs) fail('reconnectMaxMs must be at least reconnectMinMs', 'reconnectMaxMs');
  try {
    new URL(cfg.hubUrl);
  } catch {
    fail(`hub URL '${cfg.hubUrl}' is not a URL`, 'hubUrl');
  }
  cfg.dataDir = resolve(cfg.dataDir ?? `.switchyard/sidecar-${cfg.agentId}`);
  return deepFreeze(cfg);
}

/**
 * The token from a file that only its owner can read (like ssh's keys: a token other users can
 * read is a leaked token, so it is refused rather than used).
 */
function readTokenFile(path: string): string {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    fail(`cannot read the token file ${path}: ${(err as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    fail(`the token file ${path} is readable by others (mode ${(mode & 0o777).toString(8)}): run chmod 600 ${path}`);
  }
  const token = text.trim();
  if (!token) fail(`the token file ${path} is empty`);
  return token;
}

/** ws(s)://host/v1/agent from whatever base URL the operator gave. */
export function agentSocketUrl(hubUrl: string): string {
  return hubUrlOf(hubUrl, '/v1/agent', 'ws');
}

/** The hub's REST URL for `path` (`/v1/agent/repos`), whether `hubUrl` was given as http(s) or ws(s). */
export function hubRestUrl(hubUrl: string, path: string): string {
  return hubUrlOf(hubUrl, path, 'http');
}

function hubUrlOf(hubUrl: string, path: string, scheme: 'ws' | 'http'): string {
  const u = new URL(hubUrl);
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  u.protocol = `${scheme}${secure ? 's' : ''}:`;
  u.pathname = path;
  u.search = '';
  return u.toString();
}
