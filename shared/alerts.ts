/**
 * Alerts and the metrics history, as they cross the wire (REST, the live feed, push): defined
 * once here (TypeBox), so the type, the validator and the route schema agree. docs/alerts.md
 * describes the rules; docs/metrics.md the history and the Prometheus metrics.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Ref, StringEnum } from './schema.js';

/** The rules the hub evaluates (hub/alerts/rules.ts), plus the executor watch's. */
export const ALERT_RULES = [
  'no_agent_online',
  'queue_growing',
  'task_unplaceable',
  'failure_rate',
  'dead_letter_growth',
  'agent_offline',
  'agent_idle',
  'agent_disconnected',
  'store_degraded',
  'backup_failed',
  'backup_overdue',
  'executor_gone',
  'budget_warning',
  'budget_exhausted',
  // The review workflow (hub/workflow/alert-rules.ts, docs/workflow.md)
  'circuit_open',
  'escalation_open',
] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const ALERT_STATES = ['active', 'acknowledged', 'cleared'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

const Ms = Type.Integer({ minimum: 0 });

/**
 * One alert: a rule firing for one subject (the fleet, a task, an agent, an executor, a repo). It stays
 * `active` until acknowledged or until its condition clears; a critical one is sent again every
 * repeat interval until acknowledged (`count` counts the sends).
 */
export const Alert = Type.Object(
  {
    /** Stable per rule and subject while it lasts: `<rule>:<subject key>:<fired_at base36>`. */
    id: Type.String(),
    /** One of ALERT_RULES (a string, so a newer hub's rules pass older clients). */
    rule: Type.String(),
    severity: StringEnum(ALERT_SEVERITIES),
    state: StringEnum(ALERT_STATES),
    title: Type.String(),
    message: Type.String(),
    subject: Type.Object({ task_id: Type.Optional(Type.String()), agent_id: Type.Optional(Type.String()), executor: Type.Optional(Type.String()), repo: Type.Optional(Type.String()) }),
    fired_at: Ms,
    last_fired_at: Ms,
    /** Times it was sent: 1 when it fires, +1 for each repeat of a critical alert. */
    count: Type.Integer({ minimum: 1 }),
    acked_at: Nullable(Ms),
    acked_by: Nullable(Type.String()),
    cleared_at: Nullable(Ms),
    /** A dashboard path to open: '/#/tasks/<id>', '/#/agents/<id>' or '/#/alerts'. */
    url: Type.String(),
  },
  { $id: 'Alert' },
);
export type Alert = Static<typeof Alert>;

/** `GET /v1/alerts` query. */
export const AlertListQuery = Type.Object(
  {
    /** @defaultValue active (acknowledged alerts whose condition still holds are not active) */
    state: Type.Optional(StringEnum([...ALERT_STATES, 'all'] as const)),
    /** @defaultValue 100 */
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
export type AlertListQuery = Static<typeof AlertListQuery>;

export const AlertList = Type.Object({ alerts: Type.Array(Ref(Alert)) });
export type AlertList = Static<typeof AlertList>;

export const AlertIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

export const AlertAnswer = Type.Object({ alert: Ref(Alert) });

// ------------------------------------------------------------------ metrics history

/** One 10-second step of the hub's own history (counts are within the step). */
export const MetricsPoint = Type.Object({
  at: Ms,
  queued: Type.Integer({ minimum: 0 }),
  running: Type.Integer({ minimum: 0 }),
  agents_online: Type.Integer({ minimum: 0 }),
  created: Type.Integer({ minimum: 0 }),
  completed: Type.Integer({ minimum: 0 }),
  failed: Type.Integer({ minimum: 0 }),
  dead_lettered: Type.Integer({ minimum: 0 }),
  assign_p50_ms: Nullable(Type.Number({ minimum: 0 })),
  assign_p99_ms: Nullable(Type.Number({ minimum: 0 })),
});
export type MetricsPoint = Static<typeof MetricsPoint>;

/** `GET /v1/metrics/history`: the last hour, oldest first (at most 360 points). */
export const MetricsHistory = Type.Object({ step_ms: Type.Integer({ minimum: 1 }), points: Type.Array(MetricsPoint) });
export type MetricsHistory = Static<typeof MetricsHistory>;
