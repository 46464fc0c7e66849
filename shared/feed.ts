/**
 * The live feed (`GET /v1/feed`, WebSocket): every frame the hub pushes to dashboards and CLIs,
 * defined once. JSON text, one message per frame, each with a `type`; the hub sends and never
 * reads. OpenAPI lists `FeedMessage` under `components.schemas`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Alert } from './alerts.js';
import { AgentView, QueueStats } from './rest.js';
import { Ref, StringEnum } from './schema.js';
import { Task, TaskEvent } from './task.js';

/** Something an operator should know: an executor the fleet relied on is gone everywhere (or back). */
export const ExecutorAlert = Type.Object(
  {
    code: StringEnum(['EXECUTOR_GONE', 'EXECUTOR_BACK'] as const),
    executor: Type.String(),
    message: Type.String(),
    at: Type.Integer(),
    /** Each agent's reason, for EXECUTOR_GONE. */
    reasons: Type.Array(Type.Object({ agent_id: Type.String(), reason: Type.String() })),
  },
  { $id: 'ExecutorAlert' },
);
export type ExecutorAlert = Static<typeof ExecutorAlert>;

export const FeedMessages = {
  /**
   * First frame to a new subscriber: the agents as they are now and the queue's counts. `counted`:
   * events already in those counts whose `task.changed` frames are still to come (applied, not yet
   * durable): a client keeping counts from frames skips those frames' counts.
   */
  hello: Type.Object({ type: Type.Literal('hello'), agents: Type.Array(Ref(AgentView)), stats: Ref(QueueStats), counted: Type.Optional(Type.Array(Type.String())) }),
  /** A durable task change, in commit order: the task after it and the audit event that recorded it. */
  'task.changed': Type.Object({ type: Type.Literal('task.changed'), task: Ref(Task), event: Ref(TaskEvent) }),
  'agent.changed': Type.Object({ type: Type.Literal('agent.changed'), agent: Ref(AgentView) }),
  /** The executor watch's own alert (kept for older clients; the same news comes as `alert.changed`, rule executor_gone). */
  alert: Type.Object({ type: Type.Literal('alert'), alert: Ref(ExecutorAlert) }),
  /** An alert fired, repeated, was acknowledged or cleared (shared/alerts.ts, docs/alerts.md). */
  'alert.changed': Type.Object({ type: Type.Literal('alert.changed'), alert: Ref(Alert) }),
  /** Output of a running task, as the sidecar sent it (not stored). */
  'task.progress': Type.Object({
    type: Type.Literal('task.progress'),
    task_id: Type.String(),
    generation: Type.Integer(),
    seq: Type.Integer(),
    agent_id: Type.String(),
    data: Type.Array(Type.Object({ stream: Type.String(), data: Type.String() })),
  }),
  /** The task store stopped taking writes (a failed write: the hub needs a restart), or is back. */
  'store.health': Type.Object({
    type: Type.Literal('store.health'),
    healthy: Type.Boolean(),
    at: Type.Integer(),
    /** While degraded: why (disk_full, write_failed, or an operator hold's reason). */
    reason: Type.Optional(Type.String()),
  }),
} as const;

const M = FeedMessages;
export const FeedMessage = Type.Union([M.hello, M['task.changed'], M['agent.changed'], M.alert, M['alert.changed'], M['task.progress'], M['store.health']], { $id: 'FeedMessage' });
export type FeedMessage = Static<typeof FeedMessage>;

/**
 * What a subscriber that negotiated FEED_BATCH_PROTOCOL gets after the hello: each turn of the
 * hub's event loop (a commit's task changes, the agents' changes that went with it) as one
 * WebSocket message, the FeedMessages in order. Fewer, larger messages: a busy fleet's thousands
 * of changes a second cost a dashboard tens of messages, not thousands.
 */
export const FeedBatch = Type.Object({ type: Type.Literal('batch'), messages: Type.Array(Ref(FeedMessage)) }, { $id: 'FeedBatch' });
export type FeedBatch = Static<typeof FeedBatch>;

/**
 * Feed authentication without the token in the URL (URLs end up in logs and history): a browser
 * cannot set headers on a WebSocket, but it can offer subprotocols. It offers
 * `[FEED_PROTOCOL, 'bearer.<token>']`; the hub reads the token from the `bearer.` entry and echoes
 * back only FEED_PROTOCOL, never the secret one.
 */
export const FEED_PROTOCOL = 'switchyard.v1';
/** Offered before FEED_PROTOCOL by clients that take a turn's messages as one FeedBatch (the dashboard). */
export const FEED_BATCH_PROTOCOL = 'switchyard.v1.batch';
export const BEARER_PROTOCOL_PREFIX = 'bearer.';

/** The token in a `Sec-WebSocket-Protocol` header's `bearer.<token>` entry, or null. */
export function bearerFromProtocols(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) return null;
  for (const entry of value.split(',')) {
    const p = entry.trim();
    if (p.startsWith(BEARER_PROTOCOL_PREFIX) && p.length > BEARER_PROTOCOL_PREFIX.length) return p.slice(BEARER_PROTOCOL_PREFIX.length);
  }
  return null;
}

/** The subprotocol a hub answers with: FEED_BATCH_PROTOCOL, else FEED_PROTOCOL when offered, else any non-secret one, else none. */
export function chooseProtocol(offered: ReadonlySet<string>): string | false {
  if (offered.has(FEED_BATCH_PROTOCOL)) return FEED_BATCH_PROTOCOL;
  if (offered.has(FEED_PROTOCOL)) return FEED_PROTOCOL;
  for (const p of offered) if (!p.startsWith(BEARER_PROTOCOL_PREFIX)) return p;
  return false;
}
