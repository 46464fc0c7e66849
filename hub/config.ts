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

const DAY_MS = 86_400_000;
/** Ten years: the longest retention setting. */
const MAX_RETENTION_MS = 3650 * DAY_MS;

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
     * Retention (docs/operations.md, "Retention and compaction"): completed tasks older than this
     * are archived and removed from the live store; 0 keeps them. @defaultValue 30 days (SWITCHYARD_RETENTION_COMPLETED_MS)
     */
    retentionCompletedMs: ms(0, MAX_RETENTION_MS, 30 * DAY_MS, 'SWITCHYARD_RETENTION_COMPLETED_MS'),
    /** The same for cancelled tasks. @defaultValue 30 days (SWITCHYARD_RETENTION_CANCELLED_MS) */
    retentionCancelledMs: ms(0, MAX_RETENTION_MS, 30 * DAY_MS, 'SWITCHYARD_RETENTION_CANCELLED_MS'),
    /** The same for dead-lettered tasks (longer: an operator may still retry one). @defaultValue 90 days (SWITCHYARD_RETENTION_DEAD_LETTER_MS) */
    retentionDeadLetterMs: ms(0, MAX_RETENTION_MS, 90 * DAY_MS, 'SWITCHYARD_RETENTION_DEAD_LETTER_MS'),
    /** How often a retention round runs; 0 turns retention off. @defaultValue 10 minutes (SWITCHYARD_RETENTION_EVERY_MS) */
    retentionEveryMs: ms(0, 7 * DAY_MS, 600_000, 'SWITCHYARD_RETENTION_EVERY_MS'),
    /** Tasks removed per batch (one write on the serial path; dispatch runs between batches). @defaultValue 250 (SWITCHYARD_RETENTION_BATCH) */
    retentionBatch: Type.Integer({ minimum: 1, maximum: 5000, default: 250, env: 'SWITCHYARD_RETENTION_BATCH' }),
    /**
     * How long the idempotency key of a removed task stays reserved (a create with it is refused
     * with IDEMPOTENCY_KEY_ARCHIVED); then it is free again. 0 frees it with the task.
     * @defaultValue 7 days (SWITCHYARD_RETENTION_IDEMPOTENCY_KEEP_MS)
     */
    idempotencyKeepMs: ms(0, MAX_RETENTION_MS, 7 * DAY_MS, 'SWITCHYARD_RETENTION_IDEMPOTENCY_KEEP_MS'),
    /** pino level. @defaultValue info (SWITCHYARD_LOG_LEVEL) */
    logLevel: LogLevel,
  },
  { additionalProperties: false },
);

export type HubConfig = Static<typeof HubConfigSchema>;

/** The retention round's options, from the config. */
export function retentionOptionsOf(config: Readonly<HubConfig>): {
  completedMs: number;
  cancelledMs: number;
  deadLetterMs: number;
  batch: number;
  idempotencyKeepMs: number;
} {
  return {
    completedMs: config.retentionCompletedMs,
    cancelledMs: config.retentionCancelledMs,
    deadLetterMs: config.retentionDeadLetterMs,
    batch: config.retentionBatch,
    idempotencyKeepMs: config.idempotencyKeepMs,
  };
}

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
