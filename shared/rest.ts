/**
 * The REST contract (`/v1`): every body, query string, path parameter and answer, defined once.
 * The hub uses these as its fastify route schemas (validation, handler types and
 * `GET /v1/openapi.json` all come from them); clients (the CLI) take their types from here.
 *
 * Schemas with an `$id` are shared: OpenAPI lists them under `components.schemas`, and routes
 * name them with `Ref`. Bodies and query strings refuse fields they do not know.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id } from './ids.js';
import { ExecutorAdvert, HostResources } from './protocol.js';
import { Nullable, Ref, StringEnum } from './schema.js';
import { LANES, Task, TASK_STATUSES, TaskEvent, TaskSpec } from './task.js';

const Count = Type.Integer({ minimum: 0 });
const Ms = Type.Integer({ minimum: 0 });
const Cursor = Type.String({ minLength: 1, maxLength: 256 });
const Filter = Type.String({ minLength: 1, maxLength: 256 });
const PageLimit = Type.Integer({ minimum: 1, maximum: 1000, default: 100 });

// ------------------------------------------------------------------ path parameters

export const TaskIdParams = Type.Object({ id: Type.String({ description: 'The task id (a ULID).' }) });
export const AgentIdParams = Type.Object({ id: Type.String({ description: 'The agent id.' }) });

// ------------------------------------------------------------------ query strings

export const TaskListQuery = Type.Object(
  {
    status: Type.Optional(StringEnum(TASK_STATUSES)),
    lane: Type.Optional(StringEnum(LANES)),
    repo: Type.Optional(Filter),
    /** Tasks leased to this agent. */
    agent: Type.Optional(Filter),
    /**
     * Text in the title or id (case-insensitive); a whole task id finds that task at once. Without
     * a title index this is a bounded scan: each page reads at most 10,000 records and may come
     * back short with a `next` cursor to continue (docs/dashboard.md).
     */
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** `desc`: newest first. @defaultValue asc */
    order: Type.Optional(StringEnum(['asc', 'desc'] as const)),
    /** The `next` cursor of the previous page (opaque). */
    after: Type.Optional(Cursor),
    limit: Type.Optional(PageLimit),
  },
  { additionalProperties: false },
);
export type TaskListQuery = Static<typeof TaskListQuery>;

export const EventQuery = Type.Object(
  {
    /** Only this task's events. */
    task: Type.Optional(Filter),
    /** The `next` cursor of the previous page. */
    after: Type.Optional(Cursor),
    /** Events at or after this time (ms since epoch). */
    since: Type.Optional(Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 })),
    limit: Type.Optional(PageLimit),
  },
  { additionalProperties: false },
);
export type EventQuery = Static<typeof EventQuery>;

/** The live feed's query string: browsers cannot set headers on a WebSocket, so the token may come here. */
export const FeedQuery = Type.Object({ token: Type.Optional(Type.String({ maxLength: 512 })) }, { additionalProperties: false });

// ------------------------------------------------------------------ headers

export const CreateTaskHeaders = Type.Object({
  /** The same key again returns the same task (200) instead of creating another. Same as the body's `idempotency_key`. */
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
});

// ------------------------------------------------------------------ bodies

/** `POST /v1/tasks/batch`: tasks may depend on each other by `ref`; all or nothing. */
export const TaskBatchBody = Type.Object(
  { tasks: Type.Array(Ref(TaskSpec), { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);
export type TaskBatchBody = Static<typeof TaskBatchBody>;

/** Cancel, retry, approve, reject: an optional reason (the body may be absent). */
export const TaskActionBody = Nullable(
  Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) }, { additionalProperties: false }),
);

export const AgentCreateBody = Type.Object(
  {
    id: Id,
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export type AgentCreateBody = Static<typeof AgentCreateBody>;

/** The operator's preference among equally loaded agents: higher first (docs/workflow.md, "Which agent"). */
export const AgentPriority = Type.Integer({ minimum: -100, maximum: 100 });

export const AgentPatchBody = Type.Object(
  {
    priority: Type.Optional(AgentPriority),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type AgentPatchBody = Static<typeof AgentPatchBody>;

// ------------------------------------------------------------------ answers

export const TaskBatchResult = Type.Object({
  tasks: Type.Array(Ref(Task)),
  /** For each task: false when its idempotency key already existed (the existing task). */
  created: Type.Array(Type.Boolean()),
});

export const TaskPage = Type.Object({
  tasks: Type.Array(Ref(Task)),
  /** Pass as `after` for the next page; null at the end. */
  next: Nullable(Type.String()),
});

/** `GET /v1/tasks/:id`: the task, its events, its live output, and why a queued task waits. */
export const TaskDetail = Type.Object({
  task: Ref(Task),
  events: Type.Array(Ref(TaskEvent)),
  /** The last output of the running attempt (not stored; the result keeps the final tail). */
  progress_tail: Nullable(Type.String()),
  /** For a queued task that no connected agent can run now: why. */
  waiting: Nullable(Type.String()),
  /**
   * Present (true) when retention removed the task from the live store and this is its archived
   * copy (docs/operations.md, "Retention and compaction"): final, with every event it had.
   */
  archived: Type.Optional(Type.Boolean()),
});
export type TaskDetail = Static<typeof TaskDetail>;

export const EventPage = Type.Object({
  events: Type.Array(Ref(TaskEvent)),
  next: Nullable(Type.String()),
});

export const AGENT_STATES = ['idle', 'assigned', 'working', 'blocked', 'offline'] as const;
export const AgentState = StringEnum(AGENT_STATES);
export type AgentState = (typeof AGENT_STATES)[number];

/** A connected (or once connected) agent as the hub sees it live: the feed's agent, and part of the REST one. */
export const AgentView = Type.Object(
  {
    id: Type.String(),
    state: AgentState,
    capabilities: Type.Array(Type.String()),
    repos: Nullable(Type.Array(Type.String())),
    executors: Type.Array(ExecutorAdvert),
    max_concurrency: Type.Integer({ minimum: 1 }),
    /** The leases it holds. */
    tasks: Type.Array(Type.Object({ task_id: Type.String(), generation: Type.Integer(), status: StringEnum(['assigned', 'running'] as const) })),
    resources: Nullable(HostResources),
    connected_at: Nullable(Ms),
    last_seen_at: Nullable(Ms),
    /** When it last became idle (connected, holding nothing); null while it is not idle. */
    idle_since: Nullable(Ms),
    /** Tasks it completed since 00:00 UTC (counted since the hub started). */
    completed_today: Type.Integer({ minimum: 0 }),
  },
  { $id: 'AgentView' },
);
export type AgentView = Static<typeof AgentView>;

/**
 * A registered agent on REST: its record (never its token or the token's hash) and its live
 * view; an agent that has not connected since the hub started has only `state: offline` and no
 * tasks of the live fields.
 */
export const Agent = Type.Composite(
  [
    Type.Object({
      id: Type.String(),
      created_at: Ms,
      created_by: Type.String(),
      description: Type.String(),
      priority: AgentPriority,
      /** Refused frames and bodies (docs/security.md): within the window now, disconnects in the last hour, kept out until. */
      violations: Type.Optional(
        Type.Object({ recent: Count, disconnects_last_hour: Count, banned_until: Nullable(Ms), last_reason: Nullable(Type.String()) }),
      ),
    }),
    Type.Pick(AgentView, ['state', 'tasks']),
    Type.Partial(Type.Omit(AgentView, ['id', 'state', 'tasks'])),
  ],
  { $id: 'Agent' },
);
export type Agent = Static<typeof Agent>;

export const AgentList = Type.Object({ agents: Type.Array(Ref(Agent)) });

export const AgentCreated = Type.Object({
  agent: Ref(Agent),
  /** The agent's token, shown this once: give it to the sidecar. */
  token: Type.String(),
});

export const RecheckAsked = Type.Object({ agent_id: Type.String(), asked: Type.Literal(true) });

const LaneCounts = Type.Object({ urgent: Count, high: Count, normal: Count, low: Count });
/** Tasks per active status (settled ones, completed and cancelled, are not counted in memory). */
const StatusCounts = Type.Partial(
  Type.Object({
    pending: Count,
    queued: Count,
    assigned: Count,
    running: Count,
    blocked: Count,
    review: Count,
    completed: Count,
    failed: Count,
    dead_letter: Count,
    cancelled: Count,
  }),
);

/** The queue's counts, kept in memory by the store. */
export const QueueStats = Type.Object(
  {
    queued: LaneCounts,
    byStatus: StatusCounts,
    leases: Count,
  },
  { $id: 'QueueStats' },
);
export type QueueStats = Static<typeof QueueStats>;

/** `GET /v1/health` (200 when ok, 503 when degraded). */
// ------------------------------------------------------------------ backups (docs/operations.md)

/** One store of a backup: how many keys, per key space (the prefix before the first '!'), and a SHA-256 over them. */
export const BackupStoreManifest = Type.Object({
  keys: Count,
  by_prefix: Type.Record(Type.String(), Count),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
});
export type BackupStoreManifest = Static<typeof BackupStoreManifest>;

/**
 * What `<data>/backups/<UTC time>/manifest.json` says of the backup beside it. `checksum` is a
 * SHA-256 over the rest of the manifest (its JSON, keys sorted), so a torn or edited manifest
 * does not verify.
 */
export const BackupManifest = Type.Object(
  {
    format: Type.Integer({ minimum: 1, description: 'The backup format; a restore refuses a newer one (BACKUP_TOO_NEW)' }),
    name: Type.String({ description: 'The folder name: the UTC time of the snapshot' }),
    created_at: Type.Integer({ minimum: 0, description: 'When the snapshot was taken (ms since epoch)' }),
    took_ms: Count,
    store_format: Type.String({ description: "The task store's format version (m!version)" }),
    stores: Type.Record(Type.String(), BackupStoreManifest),
    files: Type.Record(Type.String(), Type.Object({ bytes: Count, sha256: Type.String() })),
    tasks: Count,
    events: Count,
    agents: Count,
    newest_event_id: Nullable(Type.String()),
    newest_event_at: Nullable(Type.Integer({ minimum: 0 })),
    checksum: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  },
  { $id: 'BackupManifest' },
);
export type BackupManifest = Static<typeof BackupManifest>;

/** A verified backup in `<data>/backups`. */
export const BackupEntry = Type.Object({ dir: Type.String(), manifest: Ref(BackupManifest) });
export type BackupEntry = Static<typeof BackupEntry>;
export const BackupList = Type.Object({ backups: Type.Array(BackupEntry, { description: 'Newest first' }) });
export type BackupList = Static<typeof BackupList>;

/** The last backup's outcome, as `/v1/health` and the `backup.done` bus event tell it. */
export const BackupOutcome = Type.Object({
  at: Type.Integer({ minimum: 0 }),
  ok: Type.Boolean(),
  took_ms: Count,
  dir: Type.Optional(Type.String()),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});
export type BackupOutcome = Static<typeof BackupOutcome>;

export const BackupHealth = Type.Object({
  last: Nullable(BackupOutcome),
  /** When the next scheduled backup runs; null when the schedule is off (every 0). */
  next_at: Nullable(Type.Integer({ minimum: 0 })),
  running: Type.Boolean(),
  kept: Count,
});
export type BackupHealth = Static<typeof BackupHealth>;
/**
 * What the hub did at start about a damaged store (hub/recovery/): `repaired` (LevelDB's repair
 * on a copy), `restored` (the newest backup), `kept` (the store lacked acknowledged writes and was
 * kept as it is, being the most complete there was). `lost` says what the store now lacks of
 * what the hub had acknowledged (by the watermark), and the backup's time when one was restored.
 */
export const StoreRecovery = Type.Object({
  at: Ms,
  action: StringEnum(['repaired', 'restored', 'kept'] as const),
  /** The first problem found, naming its file. Paths are relative to the data folder (this is public). */
  problem: Type.String(),
  problems: Type.Array(Type.Object({ store: Type.String(), file: Type.String(), problem: Type.String() })),
  /** Where the damaged store was moved (never deleted), in the data folder. */
  moved_aside: Nullable(Type.String()),
  /** The backup restored from, in the data folder. */
  backup: Nullable(Type.String()),
  lost: Nullable(
    Type.Object({
      acknowledged_event: Nullable(Type.String()),
      acknowledged_task: Nullable(Type.String()),
      acknowledged_at: Nullable(Ms),
      newest_event: Nullable(Type.String()),
      newest_task: Nullable(Type.String()),
      /** Changes after this time (the restored backup's) are not in the store. */
      backup_at: Type.Optional(Nullable(Ms)),
    }),
  ),
});
export type StoreRecovery = Static<typeof StoreRecovery>;

export const Health = Type.Object({
  status: StringEnum(['ok', 'degraded'] as const),
  store: StringEnum(['ok', 'failed'] as const),
  uptime_s: Count,
  agents: Type.Object({
    connected: Count,
    by_state: Type.Object({ idle: Count, assigned: Count, working: Count, blocked: Count, offline: Count }),
  }),
  queue: Type.Object({ depth: LaneCounts, by_status: StatusCounts, leases: Count }),
  /** The backups (present when the hub keeps them): the last one's time and result. */
  backups: Type.Optional(BackupHealth),
  /** What the hub did at this start about a damaged store; null when it found none. */
  recovery: Type.Optional(Nullable(StoreRecovery)),
  /** Why the store takes no writes (degraded mode, docs/operations.md), or null. */
  degraded: Nullable(
    Type.Object({
      reason: Type.String({ description: 'disk_full, write_failed, or what an operator hold names (e.g. restore_lost_data)' }),
      code: Type.Literal('STORE_DEGRADED'),
      message: Type.String(),
      since: Type.Integer({ minimum: 0 }),
      needs_ack: Type.Boolean({ description: 'Only POST /v1/health/ack ends it' }),
    }),
  ),
  /** The hub's own log: lines it could not write (a full or broken log device) are dropped and counted. */
  log: Type.Object({ dropped: Count }),
  /** Retention, when it is on: the last round, and tasks archived since the hub started. */
  retention: Type.Optional(
    Type.Object({
      last_round_at: Nullable(Ms),
      archived_total: Count,
      last_removed: Count,
    }),
  ),
});
export type Health = Static<typeof Health>;

/** `POST /v1/health/ack`'s answer: the health after the acknowledgement. */
export const HealthAck = Type.Object({ acknowledged: Type.Boolean({ description: 'False when nothing waited for an acknowledgement' }), health: Health });
export type HealthAck = Static<typeof HealthAck>;

// ------------------------------------------------------------------ joining (docs/onboarding.md)

/** What an admin sees of an invitation (never the token or its hash). */
export const JoinView = Type.Object(
  {
    id: Type.String(),
    status: StringEnum(['pending', 'used', 'expired', 'revoked'] as const),
    name: Nullable(Type.String()),
    capabilities: Type.Array(Type.String()),
    description: Type.String(),
    created_at: Ms,
    created_by: Type.String(),
    expires_at: Ms,
    revoked_at: Nullable(Ms),
    used_at: Nullable(Ms),
    agent_id: Nullable(Type.String()),
    reissued: Type.Integer({ minimum: 0 }),
  },
  { $id: 'JoinView' },
);
export const JoinCreated = Type.Object({ join: Ref(JoinView), token: Type.String({ description: 'The join token, shown this once' }) });
export const JoinList = Type.Object({ joins: Type.Array(Ref(JoinView)) });
export const JoinRevoked = Type.Object({ join: Ref(JoinView) });
export const JoinChecked = Type.Object({
  protocol: Type.Integer(),
  join: Type.Object({ id: Type.String(), name: Nullable(Type.String()), capabilities: Type.Array(Type.String()), expires_at: Ms, agent_id: Nullable(Type.String()) }),
  /** Of the names asked about (and the invitation's own), those an agent already has. */
  taken: Type.Array(Type.String()),
});
export const Joined = Type.Object({
  agent: Type.Object({ id: Type.String(), created_at: Ms, created_by: Type.String(), description: Type.String() }),
  /** The agent's token, shown this once: onboarding keeps it in a 0600 file. */
  token: Type.String(),
  protocol: Type.Integer(),
  capabilities: Type.Array(Type.String()),
  /** True when this repeated the caller's own exchange (a fresh token for the same agent). */
  repeat: Type.Boolean(),
});
export const SelfTask = Type.Object({ task: Ref(Task), events: Type.Array(Ref(TaskEvent)) });
