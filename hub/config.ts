/**
 * The hub's configuration: one schema with the defaults, then environment, then command-line flags
 * (flag > env > default; the hub has no config file). Validated once at start and frozen.
 */
import { resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { checkConfig, deepFreeze, defaultsOf, mergeLayers } from '../shared/config-schema.js';
import { SwitchyardError } from '../shared/errors.js';
import { LogLevel } from '../shared/logger.js';
import { LIMITS } from '../shared/task.js';

const ms = (min: number, max: number, dflt: number, env?: string) => Type.Integer({ minimum: min, maximum: max, default: dflt, ...(env ? { env } : {}) });

export const HubConfigSchema = Type.Object(
  {
    /** Folder for the LevelDB stores and admin.token. @defaultValue ./.switchyard/hub (SWITCHYARD_DATA, --data) */
    dataDir: Type.String({ minLength: 1, default: '.switchyard/hub', env: 'SWITCHYARD_DATA', flag: '--data' }),
    /** Address to bind. @defaultValue 127.0.0.1 (SWITCHYARD_HOST, --host) */
    host: Type.String({ minLength: 1, default: '127.0.0.1', env: 'SWITCHYARD_HOST', flag: '--host' }),
    /** Port; 0 picks a free one. @defaultValue 7070 (SWITCHYARD_PORT, --port) */
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 7070, env: 'SWITCHYARD_PORT', flag: '--port' }),
    /** Admin token; when unset one is generated into dataDir/admin.token. (SWITCHYARD_ADMIN_TOKEN) */
    adminToken: Type.Union([Type.String({ minLength: 16 }), Type.Null()], {
      default: null,
      env: 'SWITCHYARD_ADMIN_TOKEN',
      secret: true,
      invalid: 'must be at least 16 characters',
    }),
    /** Sidecars send heartbeats (and so renew leases) at this interval. @defaultValue 10000 (SWITCHYARD_HEARTBEAT_MS) */
    heartbeatMs: ms(50, 600_000, 10_000, 'SWITCHYARD_HEARTBEAT_MS'),
    /**
     * WebSocket ping interval; a socket whose pong does not return by the next ping is terminated.
     * Sent to sidecars in `welcome` (`ping_ms`). @defaultValue 15000 (SWITCHYARD_PING_MS)
     */
    pingMs: ms(50, 600_000, 15_000, 'SWITCHYARD_PING_MS'),
    /** Time an assignment may wait for the agent's accept before it is offered elsewhere. @defaultValue 60000 (SWITCHYARD_ACCEPT_TIMEOUT_MS) */
    acceptTimeoutMs: ms(50, 86_400_000, 60_000, 'SWITCHYARD_ACCEPT_TIMEOUT_MS'),
    /** Default lease length; a disconnected agent keeps its tasks this long (the grace period). @defaultValue 60000 (SWITCHYARD_LEASE_MS) */
    leaseMs: ms(100, 86_400_000, 60_000, 'SWITCHYARD_LEASE_MS'),
    /** Default attempts per task. @defaultValue 3 */
    maxAttempts: Type.Integer({ minimum: 1, maximum: LIMITS.maxAttempts, default: 3 }),
    /** Largest REST body. @defaultValue 4 MiB */
    bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 4 * 1024 * 1024 }),
    /**
     * The VAPID subject (`sub`) push services see: a mailto: or https: contact for the hub's
     * operator, which they use if the hub misbehaves (docs/push.md). Set a real one.
     * @defaultValue mailto:operator@localhost (SWITCHYARD_PUSH_SUBJECT)
     */
    pushSubject: Type.String({
      minLength: 8,
      maxLength: 512,
      pattern: '^(mailto:[^\\s@]+@[^\\s@]+|https://[^\\s]+)$',
      default: 'mailto:operator@localhost',
      env: 'SWITCHYARD_PUSH_SUBJECT',
      invalid: 'must be a mailto: address or an https: URL (web-push requires one)',
    }),
    /**
     * A PEM file of CA certificates to trust for push services, beside the system's. For tests
     * (the fake push service's self-signed certificate) and networks that inspect TLS; unset in
     * normal use. @defaultValue null (SWITCHYARD_PUSH_CA_FILE)
     */
    pushCaFile: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null, env: 'SWITCHYARD_PUSH_CA_FILE' }),
    /** pino level. @defaultValue info (SWITCHYARD_LOG_LEVEL) */
    logLevel: LogLevel,
  },
  { additionalProperties: false },
);

export type HubConfig = Static<typeof HubConfigSchema>;

/** Every setting's default (from the schema). */
export const HUB_DEFAULTS = defaultsOf(HubConfigSchema) as Readonly<HubConfig>;

/** Builds the frozen config from flags (already parsed; strings are converted), the environment and defaults. */
export function loadHubConfig(flags: Partial<Record<keyof HubConfig, unknown>> = {}, env: NodeJS.ProcessEnv = process.env): Readonly<HubConfig> {
  const { values, sources } = mergeLayers(HubConfigSchema, { env, flags });
  const problem = checkConfig(HubConfigSchema, values, sources);
  if (problem) throw new SwitchyardError('VALIDATION_FAILED', `config ${problem.message}`, { field: problem.field });
  const cfg = values as HubConfig;
  cfg.dataDir = resolve(cfg.dataDir);
  return deepFreeze(cfg);
}
