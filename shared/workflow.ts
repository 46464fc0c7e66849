/**
 * The review workflow's wire shapes (docs/workflow.md): the supervision gate's decision, review
 * feedback, questions and answers, a submission's evidence, a guardian's verdict, the circuit
 * breaker's counters and escalations. Defined once (TypeBox): the task record (shared/task.ts),
 * the REST bodies (shared/rest.ts) and the protocol's `task.ask` (shared/protocol.ts) use them.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Nullable, StringEnum } from './schema.js';

/** How much supervision a task gets (the gate decides at creation; an operator may override). */
export const SUPERVISION_MODES = ['auto', 'plan', 'strict'] as const;
export type SupervisionMode = (typeof SUPERVISION_MODES)[number];

export const RISKS = ['low', 'medium', 'high'] as const;
export type Risk = (typeof RISKS)[number];

/** The roles a guardian task is for; a task for a role needs the capability `role:<name>`. */
export const GUARDIAN_ROLES = ['security', 'qa', 'docs', 'ux'] as const;
export type GuardianRole = (typeof GUARDIAN_ROLES)[number];

/** The work a task is doing now: a plan first (plan and strict modes), then the implementation. */
export const PHASES = ['plan', 'implement'] as const;
export type Phase = (typeof PHASES)[number];

/** Text limits of the workflow's fields. */
export const WORKFLOW_LIMITS = {
  textChars: 16_384,
  findings: 64,
  /** Feedback and clarification entries kept on a record (the newest). */
  history: 50,
  paths: 256,
  maxIterations: 50,
  chain: 8,
} as const;

const Text = Type.String({ minLength: 1, maxLength: WORKFLOW_LIMITS.textChars });

/** The gate's decision, on the task record. */
export const Supervision = Type.Object({
  mode: StringEnum(SUPERVISION_MODES),
  risk: StringEnum(RISKS),
  /** Why: 'given', the heuristic's words and paths, or the operator's override. */
  reason: Type.String(),
  /** Who set the mode: 'gate' at creation, or the operator's actor after an override. */
  decided_by: Type.String(),
});
export type Supervision = Static<typeof Supervision>;

/** One finding of a review or guardian: what is wrong, where, how bad. */
export const Finding = Type.Object(
  {
    message: Text,
    file: Type.Optional(Type.String({ maxLength: 1024 })),
    line: Type.Optional(Type.Integer({ minimum: 0 })),
    severity: Type.Optional(StringEnum(['info', 'low', 'medium', 'high', 'critical'] as const)),
  },
  { additionalProperties: false },
);
export type Finding = Static<typeof Finding>;

/** Feedback that reopened a task (a review's rejection, a refused plan, a guardian's REJECT). */
export const Feedback = Type.Object({
  at: Type.Integer(),
  /** The operator's actor, or `guardian:<role>:<task id>`. */
  by: Type.String(),
  kind: StringEnum(['review', 'plan', 'guardian'] as const),
  text: Type.String(),
  findings: Type.Optional(Type.Array(Finding)),
  /** The attempt it judged. */
  attempt: Type.Integer({ minimum: 0 }),
});
export type Feedback = Static<typeof Feedback>;

/** What an agent asks (the protocol's `task.ask`, the Ollama loop's `ask` tool). */
export const QuestionBody = Type.Object(
  {
    text: Text,
    /** Choices the agent offers, when it has some. */
    options: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { maxItems: 16 })),
  },
  { additionalProperties: false },
);
export type QuestionBody = Static<typeof QuestionBody>;

/** A question and, once given, its answer. */
export const Clarification = Type.Object({
  question: Type.String(),
  options: Type.Optional(Type.Array(Type.String())),
  asked_at: Type.Integer(),
  /** The agent that asked. */
  asked_by: Type.String(),
  /** The attempt's generation it was asked in. */
  generation: Type.Integer({ minimum: 0 }),
  answer: Nullable(Type.String()),
  answered_at: Nullable(Type.Integer()),
  answered_by: Nullable(Type.String()),
  /** True when an operator unblocked the task without an answer. */
  forced: Type.Optional(Type.Boolean()),
});
export type Clarification = Static<typeof Clarification>;

/** Structured proof of a submission. */
export const Evidence = Type.Object(
  {
    test_command: Type.Optional(Type.String({ maxLength: 4096 })),
    test_result: Type.Optional(StringEnum(['passed', 'failed', 'not_run'] as const)),
    /** The test output's tail, when the agent has it. */
    test_output: Type.Optional(Type.String({ maxLength: WORKFLOW_LIMITS.textChars })),
    commit: Type.Optional(Type.String({ pattern: '^[0-9a-f]{7,64}$' })),
    branch: Type.Optional(Type.String({ maxLength: 256 })),
    files_changed: Type.Optional(Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 1000 })),
    /** Line coverage in percent, when the repo reports it. */
    coverage: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    notes: Type.Optional(Type.String({ maxLength: WORKFLOW_LIMITS.textChars })),
  },
  { additionalProperties: false, $id: 'Evidence' },
);
export type Evidence = Static<typeof Evidence>;

/** A guardian's verdict: in its result as `{ verdict: 'PASS' | 'REJECT', findings? , summary? }`. */
export const Verdict = Type.Object({
  verdict: StringEnum(['PASS', 'REJECT'] as const),
  summary: Type.Optional(Type.String({ maxLength: WORKFLOW_LIMITS.textChars })),
  findings: Type.Optional(Type.Array(Finding, { maxItems: WORKFLOW_LIMITS.findings })),
});
export type Verdict = Static<typeof Verdict>;

/** A plan (plan and strict modes): steps, files, risks. Stored on the task once produced. */
export const Plan = Type.Object({
  steps: Type.Array(Type.String()),
  files: Type.Array(Type.String()),
  risks: Type.Array(Type.String()),
  /** The plan's text as the agent wrote it, when it gave no structure. */
  text: Type.Optional(Type.String()),
  approved_at: Nullable(Type.Integer()),
  approved_by: Nullable(Type.String()),
});
export type Plan = Static<typeof Plan>;

/** The circuit breaker's counters (docs/workflow.md, "Circuit breaker"). */
export const Breaker = Type.Object({
  /** Rejections so far (reviews, plans, guardians). */
  rejections: Type.Integer({ minimum: 0 }),
  /** Lease expiries in a row (reset by any result the agent reports). */
  expiries: Type.Integer({ minimum: 0 }),
  /** When it opened; null while closed. */
  opened_at: Nullable(Type.Integer()),
});
export type Breaker = Static<typeof Breaker>;

/** What a guardian task guards: the implementation, and the roles after it. */
export const GuardianLink = Type.Object({
  role: StringEnum(GUARDIAN_ROLES),
  /** The implementation task a REJECT reopens. */
  target: Type.String(),
  /** The roles still to run after this one. */
  rest: Type.Array(StringEnum(GUARDIAN_ROLES)),
  /** The implementation's pushed branch and commit, when it has them: the guardian's worktree starts there. */
  branch: Type.Optional(Type.String({ maxLength: 256 })),
  commit: Type.Optional(Type.String({ pattern: '^[0-9a-f]{7,64}$' })),
});
export type GuardianLink = Static<typeof GuardianLink>;

// ------------------------------------------------------------------ escalations

export const ESCALATION_KINDS = ['circuit_open', 'plan_approval', 'high_risk_review', 'unanswered_question', 'delegation_untaken'] as const;
export type EscalationKind = (typeof ESCALATION_KINDS)[number];

export const ESCALATION_PRIORITIES = ['critical', 'high', 'normal'] as const;
export type EscalationPriority = (typeof ESCALATION_PRIORITIES)[number];

export const Escalation = Type.Object(
  {
    id: Type.String(),
    kind: StringEnum(ESCALATION_KINDS),
    priority: StringEnum(ESCALATION_PRIORITIES),
    task_id: Type.String(),
    title: Type.String(),
    message: Type.String(),
    created_at: Type.Integer(),
    status: StringEnum(['open', 'resolved'] as const),
    resolved_at: Nullable(Type.Integer()),
    resolved_by: Nullable(Type.String()),
    resolution: Nullable(Type.String()),
  },
  { $id: 'Escalation' },
);
export type Escalation = Static<typeof Escalation>;

// ------------------------------------------------------------------ REST bodies (hub/api/workflow.ts)

export const AnswerBody = Type.Object({ answer: Text }, { additionalProperties: false });
export const UnblockBody = Nullable(Type.Object({ note: Type.Optional(Text) }, { additionalProperties: false }));
export const SupervisionBody = Type.Object({ mode: StringEnum(SUPERVISION_MODES), reason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })) }, { additionalProperties: false });
export const FeedbackBody = Type.Object(
  { feedback: Text, findings: Type.Optional(Type.Array(Finding, { maxItems: WORKFLOW_LIMITS.findings })) },
  { additionalProperties: false },
);
export const AskBody = Type.Object(
  { generation: Type.Integer({ minimum: 0 }), text: Text, options: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { maxItems: 16 })) },
  { additionalProperties: false },
);
export const SubmitBody = Type.Object({ generation: Type.Integer({ minimum: 0 }), evidence: Evidence, result: Type.Optional(Type.Unknown()) }, { additionalProperties: false });

export const EscalationListQuery = Type.Object(
  {
    status: Type.Optional(StringEnum(['open', 'resolved', 'all'] as const)),
    kind: Type.Optional(StringEnum(ESCALATION_KINDS)),
    task: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
export type EscalationListQuery = Static<typeof EscalationListQuery>;
export const EscalationIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const ResolveBody = Nullable(Type.Object({ resolution: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })) }, { additionalProperties: false }));
export const EscalationList = Type.Object({ escalations: Type.Array(Escalation) });
export const EscalationAnswer = Type.Object({ escalation: Escalation });
