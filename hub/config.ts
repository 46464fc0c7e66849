/**
 * The hub's configuration, in one place: defaults, then environment, then command-line flags
 * (flag > env > default). Validated once at start and frozen.
 */
import { resolve } from 'node:path';
import { SwitchyardError } from '../shared/errors.js';

export interface HubConfig {
  /** Folder for the LevelDB stores and admin.token. @defaultValue ./.switchyard/hub (SWITCHYARD_DATA) */
  dataDir: string;
  /** Address to bind. @defaultValue 127.0.0.1 (SWITCHYARD_HOST) */
  host: string;
  /** Port; 0 picks a free one. @defaultValue 7070 (SWITCHYARD_PORT) */
  port: number;
  /** Admin token; when unset one is generated into dataDir/admin.token. (SWITCHYARD_ADMIN_TOKEN) */
  adminToken: string | null;
  /** Sidecars send heartbeats (and so renew leases) at this interval. @defaultValue 10000 */
  heartbeatMs: number;
  /** WebSocket ping interval; a socket whose pong does not return by the next ping is terminated. @defaultValue 15000 (SWITCHYARD_PING_MS) */
  pingMs: number;
  /** Time an assignment may wait for the agent's accept before it is offered elsewhere. @defaultValue 60000 (SWITCHYARD_ACCEPT_TIMEOUT_MS) */
  acceptTimeoutMs: number;
  /** Default lease length; a disconnected agent keeps its tasks this long (the grace period). @defaultValue 60000 (SWITCHYARD_LEASE_MS) */
  leaseMs: number;
  /** Default attempts per task. @defaultValue 3 */
  maxAttempts: number;
  /** Largest REST body. @defaultValue 4 MiB */
  bodyLimitBytes: number;
  /** pino level. @defaultValue info (SWITCHYARD_LOG_LEVEL) */
  logLevel: string;
}

export const HUB_DEFAULTS: HubConfig = {
  dataDir: '.switchyard/hub',
  host: '127.0.0.1',
  port: 7070,
  adminToken: null,
  heartbeatMs: 10_000,
  pingMs: 15_000,
  acceptTimeoutMs: 60_000,
  leaseMs: 60_000,
  maxAttempts: 3,
  bodyLimitBytes: 4 * 1024 * 1024,
  logLevel: 'info',
};

const ENV: Partial<Record<keyof HubConfig, string>> = {
  dataDir: 'SWITCHYARD_DATA',
  host: 'SWITCHYARD_HOST',
  port: 'SWITCHYARD_PORT',
  adminToken: 'SWITCHYARD_ADMIN_TOKEN',
  acceptTimeoutMs: 'SWITCHYARD_ACCEPT_TIMEOUT_MS',
  leaseMs: 'SWITCHYARD_LEASE_MS',
  heartbeatMs: 'SWITCHYARD_HEARTBEAT_MS',
  pingMs: 'SWITCHYARD_PING_MS',
  logLevel: 'SWITCHYARD_LOG_LEVEL',
};

function toInt(name: string, value: string | number, min: number, max: number): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SwitchyardError('VALIDATION_FAILED', `config ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Builds the frozen config from flags (already parsed), the environment and defaults. */
export function loadHubConfig(flags: Partial<HubConfig> = {}, env: NodeJS.ProcessEnv = process.env): Readonly<HubConfig> {
  const merged: Record<string, unknown> = { ...HUB_DEFAULTS };
  for (const [key, envName] of Object.entries(ENV)) {
    const v = env[envName!];
    if (v !== undefined && v !== '') merged[key] = v;
  }
  for (const [key, v] of Object.entries(flags)) if (v !== undefined) merged[key] = v;
  const cfg: HubConfig = {
    dataDir: resolve(String(merged.dataDir)),
    host: String(merged.host),
    port: toInt('port', merged.port as string, 0, 65535),
    adminToken: merged.adminToken == null ? null : String(merged.adminToken),
    heartbeatMs: toInt('heartbeatMs', merged.heartbeatMs as number, 50, 600_000),
    pingMs: toInt('pingMs', merged.pingMs as number, 50, 600_000),
    acceptTimeoutMs: toInt('acceptTimeoutMs', merged.acceptTimeoutMs as number, 50, 86_400_000),
    leaseMs: toInt('leaseMs', merged.leaseMs as number, 100, 86_400_000),
    maxAttempts: toInt('maxAttempts', merged.maxAttempts as number, 1, 100),
    bodyLimitBytes: toInt('bodyLimitBytes', merged.bodyLimitBytes as number, 1024, 64 * 1024 * 1024),
    logLevel: String(merged.logLevel),
  };
  if (cfg.adminToken !== null && cfg.adminToken.length < 16) {
    throw new SwitchyardError('VALIDATION_FAILED', 'SWITCHYARD_ADMIN_TOKEN must be at least 16 characters');
  }
  return Object.freeze(cfg);
}
