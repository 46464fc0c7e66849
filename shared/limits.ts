/**
 * Rate limits (docs/security.md): the tiers requests are counted in, an operator's override for
 * one subject, and what `GET /v1/limits` answers.
 *
 * A subject is who is counted: `admin`, `token:<id>` (an API token), `agent:<id>`, or
 * `address:<ip>`. An override multiplies the subject's limits (`factor`: 10 raises them tenfold,
 * 0.5 halves them) or takes it out of limiting (`exempt`).
 */
import { Type, type Static } from '@sinclair/typebox';


/** light: reads and health; normal: task changes; heavy: registration, invites, tokens, backups, restores, batch creation. */
export const TIERS = ['light', 'normal', 'heavy'] as const;
export type Tier = (typeof TIERS)[number];

export const LimitSubject = Type.String({ pattern: '^(admin|token:[0-9a-f]{16}|agent:[A-Za-z0-9][A-Za-z0-9._-]{0,63}|address:[0-9a-fA-F.:]{2,45})$', description: 'admin, token:<id>, agent:<id> or address:<ip>' });

export const LimitOverrideBody = Type.Object(
  {
    /** Multiplies the subject's limits (0.01..1000). */
    factor: Type.Optional(Type.Number({ minimum: 0.01, maximum: 1000 })),
    /** Not limited at all. */
    exempt: Type.Optional(Type.Boolean()),
    note: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type LimitOverrideBody = Static<typeof LimitOverrideBody>;

export const LimitOverride = Type.Object({
  subject: LimitSubject,
  factor: Type.Number(),
  exempt: Type.Boolean(),
  note: Type.String(),
  set_at: Type.Integer(),
  set_by: Type.String(),
});
export type LimitOverride = Static<typeof LimitOverride>;

const PerMin = Type.Integer({ minimum: 1 });

export const LimitsView = Type.Object({
  enabled: Type.Boolean(),
  /** Requests per minute, per subject (a token, an agent, the admin) and per address. */
  per_minute: Type.Object({ light: PerMin, normal: PerMin, heavy: PerMin, auth_failures: PerMin, connects: PerMin }),
  /** Messages per second on one agent's socket. */
  ws_per_second: PerMin,
  /** Each refusal in a row doubles the wait, up to this; quiet this long starts again. */
  penalty_max_ms: PerMin,
  quiet_ms: PerMin,
  overrides: Type.Array(LimitOverride),
});
export type LimitsView = Static<typeof LimitsView>;

export const LimitSubjectParams = Type.Object({ subject: LimitSubject }, { additionalProperties: false });
export const LimitOverrideCleared = Type.Object({ subject: Type.String(), cleared: Type.Boolean() });
