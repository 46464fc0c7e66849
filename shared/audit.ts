/**
 * The audit log's entries and query (docs/security.md, "Audit"): who changed what — task changes
 * (from the task events) and the hub's other changes (agents, tokens, limits, join tokens,
 * backups and restores, acknowledgements) — each with its actor and the actor's kind.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Ref, StringEnum } from './schema.js';

export const ACTOR_KINDS = ['admin', 'operator', 'viewer', 'metrics', 'agent', 'slack', 'hub'] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

export const AuditEntry = Type.Object(
  {
    at: Type.Integer({ minimum: 0 }),
    /** `admin`, `token:<name>`, `agent:<id>`, `slack:<user>`, or a hub process (`sweeper`, `scheduler`, `hub`…). */
    actor: Type.String(),
    actor_kind: StringEnum(ACTOR_KINDS),
    /** `task.created`, `task.<status>`, `agent.registered`, `token.revoked`, `limits.set`… */
    action: Type.String(),
    /** What it acted on: a task id, an agent id, a token id, a limit subject… */
    subject: Type.String(),
    detail: Type.String(),
  },
  { $id: 'AuditEntry' },
);
export type AuditEntry = Static<typeof AuditEntry>;

export const AuditQuery = Type.Object(
  {
    /** An actor exactly (`admin`, `token:ci`), or a prefix ending in `:` (`token:`, `slack:`). */
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** An action exactly (`task.cancelled`), or a prefix ending in `.` (`task.`, `token.`). */
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    /** Entries at or after this time (ms since epoch). @defaultValue 24 hours ago */
    since: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Entries before this time. */
    until: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Include the hub's own processes (sweeper, scheduler…). @defaultValue false */
    hub: Type.Optional(Type.Boolean()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditPage = Type.Object({
  entries: Type.Array(Ref(AuditEntry)),
  /** Pass as `since` for the next page (oldest first); null when there is no more. */
  next_since: Nullable(Type.Integer()),
  /** True when the scan stopped at its bound before the range ended (narrow it, or follow next_since). */
  truncated: Type.Boolean(),
});
export type AuditPage = Static<typeof AuditPage>;
