/**
 * Tokens and cost (docs/usage.md): what a task spent, summed over its attempts, what the hub
 * keeps per UTC day × repo × executor × model, and the REST bodies of `GET /v1/usage` and the
 * budgets. A sidecar reports a run's usage in its result (`result.usage` of task.complete, or
 * `error.details.result.usage` of task.fail, as the hub stores a failure's result):
 * `{input_tokens, output_tokens, cost_usd}`. Only finite non-negative numbers count; anything
 * else in a report is ignored, never an error (a result is the agent's, not a contract to refuse).
 *
 * This module imports nothing of ours but ids and the schema helpers (shared/task.ts imports it).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id } from './ids.js';
import { Nullable, StringEnum } from './schema.js';

const Amount = Type.Number({ minimum: 0 });
const Count = Type.Integer({ minimum: 0 });

/** One total: tokens in and out, cost in US dollars, and the attempts (runs) that reported it. */
export const UsageTotals = Type.Object({ input_tokens: Count, output_tokens: Count, cost_usd: Amount, runs: Count });
export type UsageTotals = Static<typeof UsageTotals>;

/** A task's usage over its attempts, with a split per `executor/model` when it ran on more than one. */
export const Usage = Type.Object({
  input_tokens: Count,
  output_tokens: Count,
  cost_usd: Amount,
  runs: Count,
  /** Keyed `executor/model` (`-` for a model the run did not name). */
  by_model: Type.Optional(Type.Record(Type.String(), UsageTotals)),
});
export type Usage = Static<typeof Usage>;

/** One run's report, read from a result. */
export interface RunUsage {
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

/** The executors whose runs cost money. Claude (Claude Code) is paid; Ollama and shell run locally. */
const PAID = new Set(['claude', 'claude-code']);

export function isPaidExecutor(executor: string | null | undefined): boolean {
  return executor !== null && executor !== undefined && PAID.has(executor);
}

/** Placeholder for a repo or a model that a run did not name (not a valid id, so it never collides). */
export const NO_NAME = '-';

export function zeroTotals(): UsageTotals {
  return { input_tokens: 0, output_tokens: 0, cost_usd: 0, runs: 0 };
}

function amount(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The usage a sidecar's result reports, or null when it reports none (no `usage` object, or one
 * with nothing countable). Tokens are rounded down to integers.
 */
export function runUsageOf(result: unknown): RunUsage | null {
  if (!isObject(result) || !isObject(result.usage)) return null;
  const u = result.usage;
  const input = Math.floor(amount(u.input_tokens));
  const output = Math.floor(amount(u.output_tokens));
  const cost = amount(u.cost_usd);
  if (input === 0 && output === 0 && cost === 0 && !('input_tokens' in u || 'output_tokens' in u || 'cost_usd' in u)) return null;
  return { input_tokens: input, output_tokens: output, cost_usd: cost };
}

/** The result inside a failure's details (the hub merges a task.fail's result there). */
export function resultOfFailure(details: unknown): unknown {
  return isObject(details) ? details.result : undefined;
}

/** The executor a result names (the sidecar's choice for a task that named none). */
export function executorOfResult(result: unknown): string | null {
  // A name as executors have (it becomes part of a store key): anything else is not a name.
  return isObject(result) && typeof result.executor === 'string' && /^[a-z][a-z0-9-]{0,31}$/.test(result.executor) ? result.executor : null;
}

/** `executor/model`, the key of `Usage.by_model` (a model may hold '/', an executor never does). */
export function modelKey(executor: string, model: string | null): string {
  return `${executor}/${model ?? NO_NAME}`;
}

export function splitModelKey(key: string): { executor: string; model: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { executor: key, model: NO_NAME } : { executor: key.slice(0, slash), model: key.slice(slash + 1) };
}

/** Adds one run to `to` (in place). */
export function addRun(to: UsageTotals, run: RunUsage): void {
  to.input_tokens += run.input_tokens;
  to.output_tokens += run.output_tokens;
  to.cost_usd += run.cost_usd;
  to.runs += 1;
}

/** Adds totals to `to` (in place). */
export function addTotals(to: UsageTotals, from: UsageTotals): void {
  to.input_tokens += from.input_tokens;
  to.output_tokens += from.output_tokens;
  to.cost_usd += from.cost_usd;
  to.runs += from.runs;
}

/** A task's usage after one more run on `executor/model` (a new object; `before` is not changed). */
export function chargeRun(before: Usage | undefined, run: RunUsage, key: string): Usage {
  const after: Usage = { input_tokens: 0, output_tokens: 0, cost_usd: 0, runs: 0, by_model: {} };
  if (before) {
    addTotals(after, before);
    for (const [k, t] of Object.entries(before.by_model ?? {})) after.by_model![k] = { ...t };
  }
  addRun(after, run);
  addRun((after.by_model![key] ??= zeroTotals()), run);
  return after;
}

/** What `after` adds over `before`, per `executor/model` (empty when nothing changed). */
export function usageDelta(before: Usage | undefined, after: Usage | undefined): Map<string, UsageTotals> {
  const delta = new Map<string, UsageTotals>();
  if (!after || after === before) return delta;
  for (const [key, t] of Object.entries(after.by_model ?? {})) {
    const b = before?.by_model?.[key];
    const d = b
      ? { input_tokens: t.input_tokens - b.input_tokens, output_tokens: t.output_tokens - b.output_tokens, cost_usd: t.cost_usd - b.cost_usd, runs: t.runs - b.runs }
      : { ...t };
    if (d.runs > 0 || d.input_tokens > 0 || d.output_tokens > 0 || d.cost_usd > 0) delta.set(key, d);
  }
  return delta;
}

/** A UTC day, `YYYY-MM-DD`, of a time in ms since the epoch. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

// ------------------------------------------------------------------ REST

export const USAGE_GROUPS = ['day', 'repo', 'model', 'executor'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'a UTC day, YYYY-MM-DD' });

export const UsageQuery = Type.Object(
  {
    /** Comma-separated groups: `day`, `repo`, `model`, `executor` (`repo,day`). Absent: one row of totals. */
    by: Type.Optional(Type.String({ pattern: '^(day|repo|model|executor)(,(day|repo|model|executor)){0,3}$' })),
    /** First UTC day counted (inclusive). */
    since: Type.Optional(Day),
    /** Last UTC day counted (inclusive). */
    until: Type.Optional(Day),
  },
  { additionalProperties: false },
);
export type UsageQuery = Static<typeof UsageQuery>;

/** One row: the group's values (only the fields grouped by) and its totals. */
export const UsageRow = Type.Object({
  day: Type.Optional(Type.String()),
  repo: Type.Optional(Type.String()),
  executor: Type.Optional(Type.String()),
  model: Type.Optional(Type.String()),
  input_tokens: Count,
  output_tokens: Count,
  cost_usd: Amount,
  runs: Count,
});
export type UsageRow = Static<typeof UsageRow>;

export const UsageAnswer = Type.Object({
  by: Type.Array(StringEnum(USAGE_GROUPS)),
  since: Nullable(Type.String()),
  until: Nullable(Type.String()),
  rows: Type.Array(UsageRow),
  total: UsageTotals,
});
export type UsageAnswer = Static<typeof UsageAnswer>;

// ------------------------------------------------------------------ budgets

export const ON_LIMIT = ['wait', 'local'] as const;
export type OnLimit = (typeof ON_LIMIT)[number];

/** `PUT /v1/budgets/:repo`: at least one limit; what a repo's tasks do at the limit. */
export const BudgetBody = Type.Object(
  {
    /** US dollars per UTC day. */
    cost_usd_per_day: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1e9 })),
    /** Input plus output tokens per UTC day. */
    tokens_per_day: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e15 })),
    /** `wait`: the repo's tasks wait for a paid executor until the next UTC day; `local`: they may run on a local one. @defaultValue 'wait' */
    on_limit: Type.Optional(StringEnum(ON_LIMIT)),
  },
  { additionalProperties: false },
);
export type BudgetBody = Static<typeof BudgetBody>;

/** A stored budget. */
export const Budget = Type.Object({
  repo: Type.String(),
  cost_usd_per_day: Nullable(Type.Number()),
  tokens_per_day: Nullable(Type.Integer()),
  on_limit: StringEnum(ON_LIMIT),
  set_at: Type.Integer(),
  set_by: Type.String(),
});
export type Budget = Static<typeof Budget>;

/** A budget with today's spend: `percent` is the larger of the two limits' shares (100 at the limit). */
export const BudgetView = Type.Object({
  ...Budget.properties,
  day: Type.String(),
  spent_cost_usd: Amount,
  spent_tokens: Count,
  percent: Type.Number({ minimum: 0 }),
  blocked: Type.Boolean(),
});
export type BudgetView = Static<typeof BudgetView>;

export const BudgetList = Type.Object({ budgets: Type.Array(BudgetView) });
export type BudgetList = Static<typeof BudgetList>;

export const BudgetParams = Type.Object({ repo: Id }, { additionalProperties: false });
export type BudgetParams = Static<typeof BudgetParams>;
