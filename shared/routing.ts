/**
 * Model-aware routing (docs/routing.md): the policy an operator sets (complexity tier → ordered
 * candidates, how long each may wait, which tier comes next) and the route a task carries (its
 * chain of candidates, where it is on it, the decision that placed it and every move along it).
 * One definition each: the TypeScript types, the validators and the REST schemas come from here.
 */
import { Type, type Static } from '@sinclair/typebox';
import { COMPLEXITIES, type Complexity } from './complexity.js';
import { Nullable, StringEnum } from './schema.js';
import { isPaidExecutor } from './usage.js';

/**
 * A candidate (its characters are an id's: it becomes part of a capability, a signature and a
 * store key, whose separators `,` `|` `!` it must not hold): `ollama:<model>` (that model on an Ollama host), `ollama` (any model an Ollama host
 * has, a warm one first), `claude` or `claude:<model>` (Claude Code, optionally with a model).
 */
export const Candidate = Type.String({ minLength: 1, maxLength: 256, pattern: '^(ollama|claude)(:[A-Za-z0-9._:/@-]+)?$' });

export const TierPolicy = Type.Object(
  {
    /** Tried in order: the task starts on the first and moves on when it cannot be placed or fails for a model reason. */
    candidates: Type.Array(Candidate, { minItems: 1, maxItems: 16 }),
    /** How long a task waits for a free agent for one candidate before it moves to the next. @defaultValue 120000 */
    wait_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400_000 })),
    /** The tier whose candidates follow when this tier's are used up (escalation). @defaultValue none */
    next: Type.Optional(Nullable(StringEnum(COMPLEXITIES))),
  },
  { additionalProperties: false },
);
export type TierPolicy = Static<typeof TierPolicy>;

export const RoutingPolicy = Type.Object(
  {
    /** Off: tasks that name no executor or model run wherever a free slot is, as before routing. @defaultValue true */
    enabled: Type.Optional(Type.Boolean()),
    /** The share of a host's free VRAM a cold model may fill (room for the context cache). @defaultValue 0.9 */
    vram_headroom: Type.Optional(Type.Number({ minimum: 0.1, maximum: 1 })),
    tiers: Type.Object(
      { trivial: TierPolicy, standard: TierPolicy, complex: TierPolicy },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type RoutingPolicy = Static<typeof RoutingPolicy>;

/** What placed the task on its current lease, and why (the score's parts in words). */
export const RouteDecision = Type.Object({
  at: Type.Integer(),
  agent_id: Type.String(),
  candidate: Type.String(),
  executor: Type.String(),
  model: Nullable(Type.String()),
  score: Type.Number(),
  /** e.g. "gpu-box-1 / qwen2.5-coder:32b: warm, 18.0 GB VRAM free, 1 of 2 slots free, 23 of 25 recent tasks passed" */
  reasons: Type.String(),
});
export type RouteDecision = Static<typeof RouteDecision>;

/** One step along the chain: from which stage to which, and why. */
export const RouteMove = Type.Object({
  at: Type.Integer(),
  from: Type.Integer({ minimum: 0 }),
  to: Type.Integer({ minimum: 0 }),
  candidate: Type.String(),
  reason: Type.String(),
});
export type RouteMove = Static<typeof RouteMove>;

/** Most moves kept on a task (a chain is at most 48 candidates long: 3 tiers of 16). */
export const ROUTE_MOVES_MAX = 48;

export const TaskRoute = Type.Object({
  tier: StringEnum(COMPLEXITIES),
  /** The candidates in order, fixed when the task was created (a later policy does not reshape it). */
  chain: Type.Array(Type.String(), { minItems: 1 }),
  /** Index into `chain` of the candidate the task waits for or runs on now. */
  stage: Type.Integer({ minimum: 0 }),
  /** When the task reached this stage: the wait bound counts from here. */
  stage_since: Type.Integer(),
  /** How long each stage may wait, in order (from the tier each candidate came from). */
  waits: Type.Array(Type.Integer({ minimum: 0 })),
  decision: Nullable(RouteDecision),
  moves: Type.Array(RouteMove, { maxItems: ROUTE_MOVES_MAX }),
});
export type TaskRoute = Static<typeof TaskRoute>;

/** The capability an agent offers when a candidate fits on it, and a task at that stage requires. */
export function routeCapability(candidate: string): string {
  return `route:${candidate}`;
}

export const ROUTE_CAPABILITY_PREFIX = 'route:';

/** What a model name must look like to be routed to (the candidate pattern's tail): an advert's other names are not chosen. */
export const ROUTABLE_MODEL = /^[A-Za-z0-9._:/@-]+$/;

export interface ParsedCandidate {
  executor: 'ollama' | 'claude';
  /** null: any model the executor has (Ollama), or Claude's own default. */
  model: string | null;
}

export function parseCandidate(candidate: string): ParsedCandidate {
  const i = candidate.indexOf(':');
  const executor = (i < 0 ? candidate : candidate.slice(0, i)) as ParsedCandidate['executor'];
  return { executor, model: i < 0 ? null : candidate.slice(i + 1) };
}

/** Whether a candidate runs on a paid executor (what a repo's budget keeps work off, docs/usage.md). */
export function isPaidCandidate(candidate: string): boolean {
  return isPaidExecutor(parseCandidate(candidate).executor);
}

/** The REST view of the policy in force: the policy with its defaults filled, and where it came from. */
export const RoutingPolicyView = Type.Object({
  policy: RoutingPolicy,
  source: StringEnum(['default', 'file', 'api'] as const),
});
export type RoutingPolicyView = Static<typeof RoutingPolicyView>;

export type { Complexity };
