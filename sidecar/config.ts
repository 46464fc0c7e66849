/**
 * The sidecar's configuration, in one place: defaults < config file (--config, JSON) < environment
 * < flags. Validated once at start and frozen.
 */
import { readFileSync, statSync } from 'node:fs';
import type { RepoConfig } from './workspace/config.js';
import { checkEnvMap } from './child-env.js';
import { resolve } from 'node:path';
import { SwitchyardError } from '../shared/errors.js';

/** One repo this host works on: the workspace's definition (one definition for both). */
export type { RepoConfig } from './workspace/config.js';

export interface SidecarConfig {
  /** Hub base URL, http(s) or ws(s). (SWITCHYARD_HUB) */
  hubUrl: string;
  /** This agent's id, as registered at the hub. (SWITCHYARD_AGENT_ID) */
  agentId: string;
  /**
   * This agent's token. Read once at start and kept out of every child process. Prefer
   * `tokenFile`: a token in the environment or argv is visible to other processes of the user.
   * (SWITCHYARD_TOKEN)
   */
  token: string;
  /** A file (mode 0600 or stricter) holding the token, read when no token is given. (SWITCHYARD_TOKEN_FILE) */
  tokenFile?: string;
  /** More variable names (or `PREFIX*`) task processes inherit besides the built-in allow-list. @defaultValue [] */
  envPass: string[];
  /** Variables set for every task's processes. @defaultValue {} */
  env: Record<string, string>;
  /** Local state and workspaces. @defaultValue ./.switchyard/sidecar-<agentId> (SWITCHYARD_SIDECAR_DATA) */
  dataDir: string;
  /** Capabilities offered, beyond executors and models. @defaultValue [] (SWITCHYARD_CAPABILITIES, comma-separated) */
  capabilities: string[];
  /** Tasks run at once. @defaultValue 1 (SWITCHYARD_MAX_CONCURRENCY) */
  maxConcurrency: number;
  /** Executors to offer. @defaultValue ['shell'] (SWITCHYARD_EXECUTORS, comma-separated) */
  executors: Array<'shell' | 'ollama' | 'claude'>;
  /** Ollama's base URL. @defaultValue http://127.0.0.1:11434 (OLLAMA_HOST) */
  ollamaUrl: string;
  /** Path of the Claude Code CLI. @defaultValue claude */
  claudeBinary: string;
  /** Claude models this host offers for routing (tasks naming a model need it listed). @defaultValue [] */
  claudeModels: string[];
  /** Repos this host works on. @defaultValue [] (then only tasks without a repo) */
  repos: RepoConfig[];
  /** First reconnect delay; doubles up to reconnectMaxMs, with jitter. @defaultValue 500 */
  reconnectMinMs: number;
  /** @defaultValue 30000 (SWITCHYARD_RECONNECT_MAX_MS) */
  reconnectMaxMs: number;
  /** On SIGTERM, how long running tasks may finish before they are handed back. @defaultValue 30000 (SWITCHYARD_DRAIN_GRACE_MS) */
  drainGraceMs: number;
  /** Default time limit of a task's command when the task sets none. @defaultValue 3600000 */
  taskTimeoutMs: number;
  /** @defaultValue nvidia-smi */
  nvidiaSmi: string;
  /** First recheck of an executor a run found at fault; doubles up to recheckMaxMs. @defaultValue 15000 */
  recheckMinMs: number;
  /** @defaultValue 300000 */
  recheckMaxMs: number;
  /** @defaultValue info (SWITCHYARD_LOG_LEVEL) */
  logLevel: string;
}

export const SIDECAR_DEFAULTS: Omit<SidecarConfig, 'hubUrl' | 'agentId' | 'token' | 'dataDir'> = {
  envPass: [],
  env: {},
  capabilities: [],
  maxConcurrency: 1,
  executors: ['shell'],
  ollamaUrl: 'http://127.0.0.1:11434',
  claudeBinary: 'claude',
  claudeModels: [],
  repos: [],
  reconnectMinMs: 500,
  reconnectMaxMs: 30_000,
  drainGraceMs: 30_000,
  taskTimeoutMs: 3_600_000,
  nvidiaSmi: 'nvidia-smi',
  recheckMinMs: 15_000,
  recheckMaxMs: 300_000,
  logLevel: 'info',
};

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

function fromEnv(env: NodeJS.ProcessEnv): Partial<SidecarConfig> {
  const out: Partial<SidecarConfig> = {};
  if (env.SWITCHYARD_HUB) out.hubUrl = env.SWITCHYARD_HUB;
  if (env.SWITCHYARD_AGENT_ID) out.agentId = env.SWITCHYARD_AGENT_ID;
  if (env.SWITCHYARD_TOKEN) out.token = env.SWITCHYARD_TOKEN;
  if (env.SWITCHYARD_TOKEN_FILE) out.tokenFile = env.SWITCHYARD_TOKEN_FILE;
  if (env.SWITCHYARD_SIDECAR_DATA) out.dataDir = env.SWITCHYARD_SIDECAR_DATA;
  if (env.SWITCHYARD_CAPABILITIES) out.capabilities = list(env.SWITCHYARD_CAPABILITIES);
  if (env.SWITCHYARD_MAX_CONCURRENCY) out.maxConcurrency = Number(env.SWITCHYARD_MAX_CONCURRENCY);
  if (env.SWITCHYARD_EXECUTORS) out.executors = list(env.SWITCHYARD_EXECUTORS) as SidecarConfig['executors'];
  if (env.SWITCHYARD_DRAIN_GRACE_MS) out.drainGraceMs = Number(env.SWITCHYARD_DRAIN_GRACE_MS);
  if (env.SWITCHYARD_RECONNECT_MAX_MS) out.reconnectMaxMs = Number(env.SWITCHYARD_RECONNECT_MAX_MS);
  if (env.OLLAMA_HOST) out.ollamaUrl = env.OLLAMA_HOST.startsWith('http') ? env.OLLAMA_HOST : `http://${env.OLLAMA_HOST}`;
  if (env.SWITCHYARD_LOG_LEVEL) out.logLevel = env.SWITCHYARD_LOG_LEVEL;
  return out;
}

function fail(message: string): never {
  throw new SwitchyardError('VALIDATION_FAILED', `sidecar config: ${message}`);
}

export function loadSidecarConfig(flags: Partial<SidecarConfig> & { configFile?: string } = {}, env: NodeJS.ProcessEnv = process.env): Readonly<SidecarConfig> {
  let file: Partial<SidecarConfig> = {};
  const configFile = flags.configFile ?? env.SWITCHYARD_SIDECAR_CONFIG;
  if (configFile) {
    try {
      file = JSON.parse(readFileSync(configFile, 'utf8')) as Partial<SidecarConfig>;
    } catch (err) {
      fail(`cannot read ${configFile}: ${(err as Error).message}`);
    }
  }
  const { configFile: _ignored, ...flagValues } = flags;
  const defined = Object.fromEntries(Object.entries(flagValues).filter(([, v]) => v !== undefined));
  const merged = { ...SIDECAR_DEFAULTS, ...file, ...fromEnv(env), ...defined } as Partial<SidecarConfig>;
  if (!merged.hubUrl) fail('the hub URL is missing: pass --hub URL or set SWITCHYARD_HUB');
  if (!merged.agentId) fail('the agent id is missing: pass --agent ID or set SWITCHYARD_AGENT_ID');
  if (!merged.token && merged.tokenFile) merged.token = readTokenFile(merged.tokenFile);
  if (!merged.token) {
    fail('the agent token is missing: pass --token-file FILE (mode 0600) or set SWITCHYARD_TOKEN (from `switchyard agent add`)');
  }
  if (!Array.isArray(merged.envPass) || merged.envPass.some((n) => typeof n !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*\*?$/.test(n))) {
    fail('envPass must be a list of variable names (a trailing * matches a prefix)');
  }
  const envProblem = checkEnvMap(merged.env);
  if (envProblem) fail(`env ${envProblem}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._:/@-]*$/.test(merged.agentId) || merged.agentId.length > 64) fail(`agent id '${merged.agentId}' is not valid`);
  const int = (name: keyof SidecarConfig, min: number, max: number) => {
    const v = merged[name] as unknown;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  };
  int('maxConcurrency', 1, 256);
  int('reconnectMinMs', 10, 3_600_000);
  int('reconnectMaxMs', 10, 3_600_000);
  int('drainGraceMs', 0, 86_400_000);
  int('taskTimeoutMs', 1000, 7 * 86_400_000);
  int('recheckMinMs', 10, 86_400_000);
  int('recheckMaxMs', 10, 86_400_000);
  if (merged.reconnectMaxMs! < merged.reconnectMinMs!) fail('reconnectMaxMs must be at least reconnectMinMs');
  for (const e of merged.executors ?? []) if (!['shell', 'ollama', 'claude'].includes(e)) fail(`unknown executor '${e}'`);
  try {
    new URL(merged.hubUrl);
  } catch {
    fail(`hub URL '${merged.hubUrl}' is not a URL`);
  }
  const cfg = { ...merged, dataDir: resolve(merged.dataDir ?? `.switchyard/sidecar-${merged.agentId}`) } as SidecarConfig;
  return Object.freeze(cfg);
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
  const u = new URL(hubUrl);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  u.pathname = '/v1/agent';
  u.search = '';
  return u.toString();
}
