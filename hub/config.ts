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
     * Interval of the scheduled online backup into dataDir/backups (docs/operations.md); 0 turns
     * the schedule off (`switchyard hub backup` and POST /v1/backups still work).
     * @defaultValue 21600000, 6 hours (SWITCHYARD_BACKUP_EVERY_MS, --backup-every-ms)
     */
    backupEveryMs: Type.Integer({ minimum: 0, maximum: 30 * 86_400_000, default: 6 * 3_600_000, env: 'SWITCHYARD_BACKUP_EVERY_MS', flag: '--backup-every-ms' }),
    /** Verified backups kept, newest first; older ones are removed after each backup. @defaultValue 3 (SWITCHYARD_BACKUP_KEEP) */
    backupKeep: Type.Integer({ minimum: 1, maximum: 1000, default: 3, env: 'SWITCHYARD_BACKUP_KEEP' }),
    /**
     * What the hub does at start with a store it finds damaged or short of acknowledged writes
     * (docs/operations.md): `restore` repairs a copy and uses it if whole, else restores the newest
     * backup; `repair` uses the repaired copy, reporting what it lacks; `refuse` stops with the
     * problem and what to run. @defaultValue restore (SWITCHYARD_ON_CORRUPTION, --on-corruption)
     */
    onCorruption: Type.Union([Type.Literal('restore'), Type.Literal('repair'), Type.Literal('refuse')], {
      default: 'restore',
      env: 'SWITCHYARD_ON_CORRUPTION',
      flag: '--on-corruption',
    }),
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

    // Rate limits (docs/security.md): per token and per client address, by tier; sized so a real fleet never meets them.
    /** Whether the hub limits request rates at all. @defaultValue true (SWITCHYARD_RATE_LIMITS) */
    rateLimits: Type.Boolean({ default: true, env: 'SWITCHYARD_RATE_LIMITS' }),
    /** Light requests (reads, health) per minute, per token and per address. @defaultValue 100000 (SWITCHYARD_LIMIT_LIGHT_PER_MIN) */
    limitLightPerMin: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 100_000, env: 'SWITCHYARD_LIMIT_LIGHT_PER_MIN' }),
    /** Normal requests (task changes, acknowledgements) per minute, per token and per address. @defaultValue 30000 (SWITCHYARD_LIMIT_NORMAL_PER_MIN) */
    limitNormalPerMin: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 30_000, env: 'SWITCHYARD_LIMIT_NORMAL_PER_MIN' }),
    /** Heavy requests (agent registration, invites, tokens, backups, restores, batch creation) per minute. @defaultValue 1200 (SWITCHYARD_LIMIT_HEAVY_PER_MIN) */
    limitHeavyPerMin: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 1_200, env: 'SWITCHYARD_LIMIT_HEAVY_PER_MIN' }),
    /** Requests refused for a bad or missing token, per address per minute, before the address waits. @defaultValue 60 (SWITCHYARD_LIMIT_AUTH_FAILURES_PER_MIN) */
    limitAuthFailuresPerMin: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 60, env: 'SWITCHYARD_LIMIT_AUTH_FAILURES_PER_MIN' }),
    /** New WebSocket connections (sidecars, feeds) per address per minute. @defaultValue 600 (SWITCHYARD_LIMIT_CONNECTS_PER_MIN) */
    limitConnectsPerMin: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 600, env: 'SWITCHYARD_LIMIT_CONNECTS_PER_MIN' }),
    /** Messages an agent's socket may send per second. @defaultValue 2000 (SWITCHYARD_LIMIT_WS_PER_SEC) */
    limitWsPerSec: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 2_000, env: 'SWITCHYARD_LIMIT_WS_PER_SEC' }),
    /** The window the per-minute budgets are counted in (a shorter one scales them down with it). @defaultValue 60000 (SWITCHYARD_LIMIT_WINDOW_MS) */
    limitWindowMs: ms(1_000, 3_600_000, 60_000, 'SWITCHYARD_LIMIT_WINDOW_MS'),
    /** The longest wait a client that keeps going over a limit is given (each refusal in a row doubles it). @defaultValue 300000 (SWITCHYARD_LIMIT_PENALTY_MAX_MS) */
    limitPenaltyMaxMs: ms(1_000, 86_400_000, 300_000, 'SWITCHYARD_LIMIT_PENALTY_MAX_MS'),
    /** A client quiet (no refusal) this long starts again from the first, shortest wait. @defaultValue 60000 (SWITCHYARD_LIMIT_QUIET_MS) */
    limitQuietMs: ms(1_000, 86_400_000, 60_000, 'SWITCHYARD_LIMIT_QUIET_MS'),

    // ChatOps (docs/security.md, "ChatOps"): Slack slash commands and alert posts.
    /** The Slack app's signing secret; without it POST /v1/chatops/slack answers 404. (SWITCHYARD_SLACK_SIGNING_SECRET) */
    slackSigningSecret: Type.Union([Type.String({ minLength: 8 }), Type.Null()], { default: null, env: 'SWITCHYARD_SLACK_SIGNING_SECRET', secret: true, invalid: 'must be at least 8 characters' }),
    /** Slack users and their roles, `USERID=role` (admin, operator, viewer, metrics); anyone else is a viewer. @defaultValue none (SWITCHYARD_SLACK_USERS, comma-separated) */
    slackUsers: Type.Array(Type.String({ pattern: '^[A-Z0-9]{2,32}=(admin|operator|viewer|metrics)$', invalid: 'must be SLACKUSERID=role, e.g. U024BE7LH=operator' }), { default: [], env: 'SWITCHYARD_SLACK_USERS' }),
    /** Hosts a slash command's response_url may point at (https; plain http only for 127.0.0.1). @defaultValue hooks.slack.com (SWITCHYARD_SLACK_RESPONSE_HOSTS) */
    slackResponseHosts: Type.Array(Type.String({ minLength: 1 }), { default: ['hooks.slack.com'], env: 'SWITCHYARD_SLACK_RESPONSE_HOSTS' }),
    /** A Slack incoming webhook that alerts are posted to, beside push. (SWITCHYARD_SLACK_WEBHOOK_URL) */
    slackWebhookUrl: Type.Union([Type.String({ pattern: '^https?://', invalid: 'must be an http(s) URL' }), Type.Null()], { default: null, env: 'SWITCHYARD_SLACK_WEBHOOK_URL', secret: true }),

    // Violations (docs/security.md): refused frames and bodies per agent and address.
    /** Refused frames or bodies within `violationWindowMs` that close an agent's socket. @defaultValue 20 (SWITCHYARD_VIOLATION_MAX) */
    violationMax: Type.Integer({ minimum: 1, maximum: 100_000, default: 20, env: 'SWITCHYARD_VIOLATION_MAX' }),
    /** The sliding window violations are counted in. @defaultValue 60000 (SWITCHYARD_VIOLATION_WINDOW_MS) */
    violationWindowMs: ms(1_000, 3_600_000, 60_000, 'SWITCHYARD_VIOLATION_WINDOW_MS'),
    /** How long a disconnected agent or address stays out: the 1st time, the 2nd, the 3rd and later. @defaultValue 30000,60000,300000 (SWITCHYARD_VIOLATION_BANS_MS) */
    violationBansMs: Type.Array(Type.Integer({ minimum: 0, maximum: 86_400_000 }), { minItems: 1, maxItems: 10, default: [30_000, 60_000, 300_000], env: 'SWITCHYARD_VIOLATION_BANS_MS' }),
    /** Each stretch this long without a violation (after a wait ends) shortens the next wait by one step. @defaultValue 600000 (SWITCHYARD_VIOLATION_CLEAN_MS) */
    violationCleanMs: ms(1_000, 7 * 86_400_000, 600_000, 'SWITCHYARD_VIOLATION_CLEAN_MS'),

    // Alerts (docs/alerts.md): thresholds, cooldown, repeat; one setting per knob.
    /** How often the alert rules are evaluated. @defaultValue 5000 (SWITCHYARD_ALERT_CHECK_MS) */
    alertCheckMs: ms(50, 600_000, 5_000, 'SWITCHYARD_ALERT_CHECK_MS'),
    /** After an alert clears, the same rule for the same subject stays quiet this long. @defaultValue 300000 (SWITCHYARD_ALERT_COOLDOWN_MS) */
    alertCooldownMs: ms(0, 86_400_000, 300_000, 'SWITCHYARD_ALERT_COOLDOWN_MS'),
    /** A critical alert is sent again at this interval until acknowledged. @defaultValue 900000 (SWITCHYARD_ALERT_REPEAT_MS) */
    alertRepeatMs: ms(1_000, 86_400_000, 900_000, 'SWITCHYARD_ALERT_REPEAT_MS'),
    /** no_agent_online: fires once no agent has been connected for this long (and the hub has been up as long). @defaultValue 60000 */
    alertNoAgentMs: ms(0, 86_400_000, 60_000, 'SWITCHYARD_ALERT_NO_AGENT_MS'),
    /** queue_growing: fires when the queue grew at this many checks in a row. @defaultValue 12 */
    alertQueueGrowingChecks: Type.Integer({ minimum: 2, maximum: 10_000, default: 12, env: 'SWITCHYARD_ALERT_QUEUE_GROWING_CHECKS' }),
    /** task_unplaceable: a task queued this long with no connected agent able to run it. @defaultValue 300000 */
    alertUnplaceableMs: ms(0, 86_400_000, 300_000, 'SWITCHYARD_ALERT_UNPLACEABLE_MS'),
    /** failure_rate: fires when this percentage of the attempts that ended within the window failed. @defaultValue 50 */
    alertFailureRatePct: Type.Integer({ minimum: 1, maximum: 100, default: 50, env: 'SWITCHYARD_ALERT_FAILURE_RATE_PCT' }),
    /** failure_rate: only with at least this many ended attempts in the window. @defaultValue 10 */
    alertFailureRateMin: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10, env: 'SWITCHYARD_ALERT_FAILURE_RATE_MIN' }),
    /** The window of failure_rate and dead_letter_growth. @defaultValue 900000 (15 min) */
    alertWindowMs: ms(10_000, 3_600_000, 900_000, 'SWITCHYARD_ALERT_WINDOW_MS'),
    /** dead_letter_growth: fires when this many tasks dead-lettered within the window. @defaultValue 1 */
    alertDeadLetterCount: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1, env: 'SWITCHYARD_ALERT_DEAD_LETTER_COUNT' }),
    /** agent_offline: a registered agent seen before and offline this long. @defaultValue 600000 */
    alertAgentOfflineMs: ms(0, 7 * 86_400_000, 600_000, 'SWITCHYARD_ALERT_AGENT_OFFLINE_MS'),
    /** agent_idle: a connected agent idle this long while tasks are queued. @defaultValue 1800000 (30 min) */
    alertAgentIdleMs: ms(0, 7 * 86_400_000, 1_800_000, 'SWITCHYARD_ALERT_AGENT_IDLE_MS'),
    /** backup_overdue: no good backup for the backup interval plus this. @defaultValue 3600000 */
    alertBackupGraceMs: ms(0, 7 * 86_400_000, 3_600_000, 'SWITCHYARD_ALERT_BACKUP_GRACE_MS'),
    /** Severity overrides, `rule=severity` (e.g. `queue_growing=critical`). @defaultValue none (SWITCHYARD_ALERT_SEVERITY, comma-separated) */
    alertSeverity: Type.Array(Type.String({ pattern: '^[a-z_]+=(info|warning|critical)$', invalid: 'must be rule=info|warning|critical (e.g. queue_growing=critical)' }), { default: [], env: 'SWITCHYARD_ALERT_SEVERITY' }),
    /** Rules turned off (e.g. `agent_offline`). @defaultValue none (SWITCHYARD_ALERT_OFF, comma-separated) */
    alertOff: Type.Array(Type.String({ pattern: '^[a-z_]+$', invalid: 'must be a rule name (e.g. agent_offline)' }), { default: [], env: 'SWITCHYARD_ALERT_OFF' }),
    /** Cleared alerts kept (the history); the oldest go first. @defaultValue 1000 */
    alertHistory: Type.Integer({ minimum: 10, maximum: 100_000, default: 1000 }),
    /** Per-agent metric series only while the fleet has at most this many agents (label cardinality). @defaultValue 50 */
    metricsPerAgentMax: Type.Integer({ minimum: 0, maximum: 1000, default: 50, env: 'SWITCHYARD_METRICS_PER_AGENT_MAX' }),

    // Routing (docs/routing.md).
    /** A JSON file with the routing policy (tiers, candidates, waits); checked at start, a bad one stops the hub. A policy set over REST wins. @defaultValue the built-in default (SWITCHYARD_ROUTING_POLICY) */
    routingPolicyFile: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null, env: 'SWITCHYARD_ROUTING_POLICY' }),
    /** An agent's report older than this is not trusted for routing (its warm models, VRAM). @defaultValue 60000 (SWITCHYARD_ROUTING_STALE_MS) */
    routingStaleMs: ms(1_000, 3_600_000, 60_000, 'SWITCHYARD_ROUTING_STALE_MS'),
    /** How often routed tasks that waited past their stage's bound are moved on. @defaultValue 1000 (SWITCHYARD_ROUTING_SWEEP_MS) */
    routingSweepMs: ms(20, 60_000, 1_000, 'SWITCHYARD_ROUTING_SWEEP_MS'),

    // The review workflow (docs/workflow.md).
    /** Rejections, or lease expiries in a row, that open a task's circuit breaker. @defaultValue 3 (SWITCHYARD_BREAKER_MAX) */
    breakerMax: Type.Integer({ minimum: 1, maximum: 100, default: 3, env: 'SWITCHYARD_BREAKER_MAX' }),
    /** A question unanswered this long becomes an escalation. @defaultValue 1800000, 30 min (SWITCHYARD_QUESTION_ESCALATE_MS) */
    questionEscalateMs: ms(100, 30 * DAY_MS, 1_800_000, 'SWITCHYARD_QUESTION_ESCALATE_MS'),
    /**
     * A task delegated to a named agent and not taken this long is offered to any able agent; not
     * taken this long again, it becomes an escalation. @defaultValue 300000, 5 min (SWITCHYARD_DELEGATE_TIMEOUT_MS)
     */
    delegateTimeoutMs: ms(100, 30 * DAY_MS, 300_000, 'SWITCHYARD_DELEGATE_TIMEOUT_MS'),
    /**
     * Guardian chains by repo, `repo=role+role` (e.g. `calc=qa+docs`), or `*=role+…` for every
     * repo; a task's own `chain` wins. Roles: security, qa, docs, ux. (Until the repo registry of
     * issue 12 holds them.) @defaultValue none (SWITCHYARD_GUARDIAN_CHAINS, comma-separated)
     */
    guardianChains: Type.Array(
      Type.String({ pattern: '^[A-Za-z0-9*][A-Za-z0-9._:/@*-]*=(security|qa|docs|ux)(\\+(security|qa|docs|ux))*$', invalid: 'must be repo=role+role (roles: security, qa, docs, ux), e.g. calc=qa+docs' }),
      { default: [], env: 'SWITCHYARD_GUARDIAN_CHAINS' },
    ),
    /**
     * Repos whose work waits in review for a person before it completes (`*` for every repo); a
     * task's own `review` wins. @defaultValue none (SWITCHYARD_REVIEW_REPOS, comma-separated)
     */
    reviewRepos: Type.Array(Type.String({ pattern: '^(\\*|[A-Za-z0-9][A-Za-z0-9._:/@-]*)$', invalid: 'must be a repo name or *' }), { default: [], env: 'SWITCHYARD_REVIEW_REPOS' }),

    // Context (docs/context.md).
    /**
     * Project history entries held in memory per repo (live ones and the newest archived): what the
     * assembler scores; older archived entries are read from disk when a listing reaches them.
     * @defaultValue 10000 (SWITCHYARD_HISTORY_MEMORY)
     */
    historyMemory: Type.Integer({ minimum: 100, maximum: 10_000_000, default: 10_000, env: 'SWITCHYARD_HISTORY_MEMORY' }),
    /** Tokens of assembled context a task's prompt gets beside the task itself. @defaultValue 1500 (SWITCHYARD_CONTEXT_BUDGET) */
    contextBudget: Type.Integer({ minimum: 0, maximum: 200_000, default: 1500, env: 'SWITCHYARD_CONTEXT_BUDGET' }),
    /** Per-repo budgets, `repo=tokens` (e.g. `calc=3000`). @defaultValue none (SWITCHYARD_CONTEXT_BUDGETS, comma-separated) */
    contextBudgets: Type.Array(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:/@-]*=[0-9]{1,6}$', invalid: 'must be repo=tokens, e.g. calc=3000' }), {
      default: [],
      env: 'SWITCHYARD_CONTEXT_BUDGETS',
    }),
    /** Checkouts the hub may quote files from, `repo=/abs/path` (for the assembler's file excerpts). @defaultValue none (SWITCHYARD_CONTEXT_REPO_DIRS) */
    contextRepoDirs: Type.Array(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:/@-]*=/.+$', invalid: 'must be repo=/absolute/path' }), {
      default: [],
      env: 'SWITCHYARD_CONTEXT_REPO_DIRS',
    }),
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
