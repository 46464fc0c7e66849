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
    Type.Object({ id: Type.String(), created_at: Ms, created_by: Type.String(), description: Type.String() }),
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
export const Health = Type.Object({
  status: StringEnum(['ok', 'degraded'] as const),
  store: StringEnum(['ok', 'failed'] as const),
  uptime_s: Count,
  agents: Type.Object({
    connected: Count,
    by_state: Type.Object({ idle: Count, assigned: Count, working: Count, blocked: Count, offline: Count }),
  }),
  queue: Type.Object({ depth: LaneCounts, by_status: StatusCounts, leases: Count }),
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
