/**
 * The task format: one definition, from which the JSON Schema (validated by ajv at every edge,
 * used as the REST routes' schemas and listed in OpenAPI) and the TypeScript types both come.
 * `TaskSpec` is what a client submits; `Task` is what the hub stores and returns (and sends in
 * `task.assign`); `TaskEvent` is one entry of the audit log.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ID_MAX_CHARS, Id } from './ids.js';
import { COMPLEXITIES } from './complexity.js';
import { TaskRoute } from './routing.js';
import { Nullable, StringEnum } from './schema.js';
import { AssembledContext } from './context.js';
import { Usage } from './usage.js';
import { Breaker, Clarification, Evidence, Feedback, GUARDIAN_ROLES, GuardianLink, PHASES, Plan, RISKS, Supervision, SUPERVISION_MODES, WORKFLOW_LIMITS } from './workflow.js';

export const LANES = ['urgent', 'high', 'normal', 'low'] as const;
export type Lane = (typeof LANES)[number];

export { COMPLEXITIES, type Complexity } from './complexity.js';

export const TASK_STATUSES = [
  'pending',
  'queued',
  'assigned',
  'running',
  // Waiting for an operator's answer to the agent's question (docs/workflow.md).
  'blocked',
  'review',
  'completed',
  'failed',
  'dead_letter',
  'cancelled',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** The executors a sidecar may offer and a task may name: the one list (protocol adverts and sidecar config use it). */
export const EXECUTORS = ['shell', 'ollama', 'claude'] as const;
/** One of EXECUTORS, as a schema. */
export const ExecutorName = Type.Union(EXECUTORS.map((e) => Type.Literal(e)));
export type ExecutorName = (typeof EXECUTORS)[number];

/** Field limits: generous for real work, small enough that one task cannot swamp the hub. */
export const LIMITS = {
  titleChars: 200,
  textChars: 65_536,
  listItems: 256,
  itemChars: 2_048,
  idChars: ID_MAX_CHARS,
  metadataBytes: 16_384,
  maxAttempts: 100,
  timeoutMs: 7 * 24 * 3600_000,
  /**
   * Latest time (ms since epoch) the hub stores, in November 2286: its time keys are 13 digits
   * wide so that they sort as numbers. `run_at` is also refused beyond `runAtHorizonMs` from now.
   */
  maxTimeMs: 9_999_999_999_999,
  /** How far ahead `run_at` may be: 10 years (a value in µs or ns is a unit mistake, not a plan). */
  runAtHorizonMs: 10 * 366 * 86_400_000,
  /** Tasks that may depend on one task (its dependants); `depends_on` itself holds at most `listItems`. */
  dependants: 10_000,
} as const;

const ShortText = Type.String({ minLength: 1, maxLength: LIMITS.itemChars });
const Token = Id;
const Duration = Type.Integer({ minimum: 1, maximum: LIMITS.timeoutMs });

export const VerificationStep = Type.Union(
  [
    Type.Object({ type: Type.Literal('file_exists'), path: ShortText }, { additionalProperties: false }),
    Type.Object(
      {
        type: Type.Literal('test_passes'),
        /** Overrides the repo's configured test command. */
        command: Type.Optional(ShortText),
        timeout_ms: Type.Optional(Duration),
      },
      { additionalProperties: false },
    ),
    Type.Object({ type: Type.Literal('git_clean') }, { additionalProperties: false }),
    Type.Object(
      { type: Type.Literal('command_succeeds'), command: ShortText, timeout_ms: Type.Optional(Duration) },
      { additionalProperties: false },
    ),
  ],
  { $id: 'VerificationStep' },
);
export type VerificationStep = Static<typeof VerificationStep>;

export const TaskContext = Type.Object(
  {
    files: Type.Optional(Type.Array(ShortText, { maxItems: LIMITS.listItems })),
    notes: Type.Optional(Type.String({ maxLength: LIMITS.textChars })),
    links: Type.Optional(Type.Array(ShortText, { maxItems: LIMITS.listItems })),
  },
  { additionalProperties: false },
);
export type TaskContext = Static<typeof TaskContext>;

export const TaskTimeouts = Type.Object(
  {
    /** How long an assignment may wait for the agent to accept before it is offered elsewhere. */
    start_ms: Type.Optional(Duration),
    /** Lease length; the sidecar renews at half of it while it works. */
    lease_ms: Type.Optional(Duration),
    /** Longest one attempt may run, however often its lease is renewed. */
    overall_ms: Type.Optional(Duration),
  },
  { additionalProperties: false },
);
export type TaskTimeouts = Static<typeof TaskTimeouts>;

/**
 * Variables set for the task's processes, over the sidecar's allow-listed environment and its
 * repo's `env` (docs/sidecar-processes.md). Not for secrets: the task's record shows them.
 */
const TaskEnv = Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' }), Type.String({ maxLength: 4096 }), {
  maxProperties: 64,
  // A Record's key pattern alone is `patternProperties`, which lets other names through.
  additionalProperties: false,
});

/** What a client submits. Optional fields get the defaults documented in docs/tasks.md. */
export const TaskSpec = Type.Object(
  {
    /** A name for this task inside one batch, so that other tasks of the batch can depend on it. */
    ref: Type.Optional(Token),
    title: Type.String({ minLength: 1, maxLength: LIMITS.titleChars }),
    description: Type.Optional(Type.String({ maxLength: LIMITS.textChars })),
    context: Type.Optional(TaskContext),
    success_criteria: Type.Optional(Type.Array(ShortText, { maxItems: LIMITS.listItems })),
    verification: Type.Optional(Type.Array(VerificationStep, { maxItems: 64 })),
    complexity: Type.Optional(StringEnum(COMPLEXITIES)),
    capabilities: Type.Optional(Type.Array(Token, { maxItems: 32, uniqueItems: true })),
    repo: Type.Optional(Token),
    /** Set by the hub when it chose the repo (a coding task with none: docs/repos.md); a client's own is dropped. */
    repo_reason: Type.Optional(Type.String({ maxLength: 500 })),
    lane: Type.Optional(StringEnum(LANES)),
    depends_on: Type.Optional(Type.Array(Token, { maxItems: LIMITS.listItems, uniqueItems: true })),
    idempotency_key: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.maxAttempts })),
    timeouts: Type.Optional(TaskTimeouts),
    /** Earliest time (ms since epoch) the task may be queued. */
    run_at: Type.Optional(Type.Integer({ minimum: 0, maximum: LIMITS.maxTimeMs })),
    /** When true, a completed attempt waits in `review` for an operator's approval. */
    review: Type.Optional(Type.Boolean()),
    executor: Type.Optional(ExecutorName),
    /** For the shell executor: run by `/bin/sh -c` in the task's working folder. */
    command: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.textChars })),
    model: Type.Optional(Token),
    /** Variables for the task's processes (`TaskEnv`). */
    env: Type.Optional(TaskEnv),
    /** Direct delegation: offer the task to this agent first. */
    agent: Type.Optional(Token),
    created_by: Type.Optional(Token),
    metadata: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.Unknown())),
    // ---- the review workflow (docs/workflow.md)
    /** Overrides the supervision gate's mode. */
    supervision: Type.Optional(StringEnum(SUPERVISION_MODES)),
    /** The task's risk; inferred from its words and paths when absent. */
    risk: Type.Optional(StringEnum(RISKS)),
    /** Files or folders (repo-relative; a trailing `/` or none both mean the folder) the task may change. */
    allowed_paths: Type.Optional(Type.Array(ShortText, { maxItems: WORKFLOW_LIMITS.paths })),
    /** Build-verify-fix iterations of one attempt (the loop's bound; `max_attempts` bounds attempts). */
    max_iterations: Type.Optional(Type.Integer({ minimum: 1, maximum: WORKFLOW_LIMITS.maxIterations })),
    /** Guardian roles run after the implementation, in order (overrides the hub's chain for its repo). */
    chain: Type.Optional(Type.Array(StringEnum(GUARDIAN_ROLES), { maxItems: WORKFLOW_LIMITS.chain })),
  },
  { additionalProperties: false, $id: 'TaskSpec' },
);
export type TaskSpec = Static<typeof TaskSpec>;

export const TaskError = Type.Object({
  code: Type.String(),
  message: Type.String(),
  retryable: Type.Optional(Type.Boolean()),
  details: Type.Optional(Type.Unknown()),
  /**
   * The earliest time (ms since epoch) a retry can succeed, when the executor knows it (a usage
   * limit's reset): a retry waits for it, or for the backoff if that is later, and at most
   * 24 hours (hub/queue/retry-policy.ts).
   */
  retry_after: Type.Optional(Type.Integer({ minimum: 0, maximum: LIMITS.maxTimeMs })),
});
export type TaskError = Static<typeof TaskError>;

export const Lease = Type.Object({
  agent_id: Type.String(),
  generation: Type.Integer(),
  expires_at: Type.Integer(),
  /** When this attempt started running; bounds it by timeouts.overall_ms. */
  started_at: Type.Optional(Type.Integer()),
});
export type Lease = Static<typeof Lease>;

/** A task as the hub stores and returns it: the normalised spec plus its state. */
export const Task = Type.Object(
  {
    /** A ULID: 26 characters, sortable by creation time. */
    id: Type.String(),
    title: Type.String(),
    description: Type.String(),
    context: TaskContext,
    success_criteria: Type.Array(Type.String()),
    verification: Type.Array(VerificationStep),
    complexity: StringEnum(COMPLEXITIES),
    /** Why the complexity is what it is: 'given' or the heuristic's reason. */
    complexity_reason: Type.String(),
    /** Sorted; includes `executor:<name>` and `model:<name>` for a task that names them. */
    capabilities: Type.Array(Type.String()),
    repo: Nullable(Type.String()),
    /** Why the task has its repo when the hub chose it (docs/repos.md, "The default repo"); absent otherwise. */
    repo_reason: Type.Optional(Type.String()),
    lane: StringEnum(LANES),
    /** Ids of the tasks this one waits for. */
    depends_on: Type.Array(Type.String()),
    idempotency_key: Nullable(Type.String()),
    max_attempts: Type.Integer({ minimum: 1 }),
    timeouts: Type.Required(TaskTimeouts),
    run_at: Nullable(Type.Integer({ minimum: 0 })),
    review: Type.Boolean(),
    executor: Nullable(StringEnum(EXECUTORS)),
    command: Nullable(Type.String()),
    model: Nullable(Type.String()),
    /** Variables for the task's processes; absent when the spec set none. */
    env: Type.Optional(Type.Record(Type.String(), Type.String())),
    agent: Nullable(Type.String()),
    /** The agent this task is reserved for now: `agent` until that agent rejects or lets it time out. */
    delegate: Nullable(Type.String()),
    /** How many tasks depend on this one (at most LIMITS.dependants). */
    dependant_count: Type.Integer({ minimum: 0 }),
    /**
     * The ids of the tasks that depend on this one, when it has any, where a single task is read
     * whole (`GET /v1/tasks/:id`; a create answer lists those its own batch added). Lists and the
     * feed carry `dependant_count` only: the ids are not part of the stored record.
     */
    dependants: Type.Optional(Type.Array(Type.String())),
    /** Ids of this task's audit events, oldest first (the per-task view of the log). */
    event_ids: Type.Array(Type.String()),
    created_by: Type.String(),
    metadata: Type.Record(Type.String(), Type.Unknown()),

    status: StringEnum(TASK_STATUSES),
    /** Bumped by every assignment; fences progress, renewals and results of older leases. */
    generation: Type.Integer({ minimum: 0 }),
    /** Attempts that started running. */
    attempts: Type.Integer({ minimum: 0 }),
    lease: Nullable(Lease),
    created_at: Type.Integer(),
    updated_at: Type.Integer(),
    /** When the task last entered `queued`; orders FIFO and anti-starvation. */
    queued_at: Nullable(Type.Integer()),
    /** When a `failed` task will be queued again (backoff), or a delayed task becomes due. */
    next_run_at: Nullable(Type.Integer()),
    last_error: Nullable(TaskError),
    /** Where routing sends it (docs/routing.md); absent for a task that names its executor, model or command. */
    route: Type.Optional(TaskRoute),
    /** What the agent returned on completion (`null` until then). */
    result: Type.Unknown(),
    // ---- the review workflow (docs/workflow.md); absent on records written before it
    /** The supervision gate's decision. */
    supervision: Type.Optional(Supervision),
    /** `plan` while an agent produces the plan an operator must approve; then `implement`. */
    phase: Type.Optional(StringEnum(PHASES)),
    /** The plan, once produced; `approved_at` once an operator approved it. */
    plan: Type.Optional(Nullable(Plan)),
    /** Feedback that reopened the task, oldest first (the newest WORKFLOW_LIMITS.history). */
    feedback: Type.Optional(Type.Array(Feedback)),
    /** Questions the agent asked and their answers, oldest first; the last is open while `blocked`. */
    clarifications: Type.Optional(Type.Array(Clarification)),
    /** The circuit breaker's counters. */
    breaker: Type.Optional(Breaker),
    /** The last submission's evidence. */
    evidence: Type.Optional(Nullable(Evidence)),
    allowed_paths: Type.Optional(Type.Array(Type.String())),
    max_iterations: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
    /** Guardian roles after the implementation (a guardian task carries the rest in `guardian`). */
    chain: Type.Optional(Type.Array(StringEnum(GUARDIAN_ROLES))),
    /** Present on a guardian's task: its role, the implementation and the roles after it. */
    guardian: Type.Optional(Nullable(GuardianLink)),
    // ---- context (docs/context.md)
    /** What the hub assembled for the prompt beside the task (history, plan, feedback, answers), with its tokens and what the budget left out. */
    assembled_context: Type.Optional(Nullable(AssembledContext)),
    // ---- usage (docs/usage.md)
    /** Tokens and cost the agents reported, summed over the attempts; absent until one reported any. */
    usage: Type.Optional(Usage),
  },
  // Open to fields a newer hub adds: a sidecar checks what it reads, and ignores the rest.
  { $id: 'Task' },
);
export type Task = Static<typeof Task>;

/** One entry of the append-only audit log. */
export const TaskEvent = Type.Object(
  {
    /** Sortable, unique, time-ordered; also the cursor for reading the log. */
    id: Type.String(),
    at: Type.Integer(),
    task_id: Type.String(),
    type: StringEnum(['created', 'transition'] as const),
    from: Nullable(StringEnum(TASK_STATUSES)),
    to: StringEnum(TASK_STATUSES),
    generation: Type.Integer({ minimum: 0 }),
    actor: Type.String(),
    reason: Type.String(),
  },
  { $id: 'TaskEvent' },
);
export type TaskEvent = Static<typeof TaskEvent>;
