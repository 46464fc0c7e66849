/**
 * Project history and assembled context (docs/context.md): one definition each, for the task
 * record (`assembled_context`), the REST answers of /v1/repos/:repo/history, and the MCP tools.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id } from './ids.js';
import { Nullable, StringEnum } from './schema.js';

/** How a task ended, as its history entry says. */
export const HISTORY_OUTCOMES = ['completed', 'dead_letter', 'cancelled'] as const;
export type HistoryOutcome = (typeof HISTORY_OUTCOMES)[number];

/** One finished task in its repo's history: mechanical facts from its record, never a model's guess (but `summary`, marked). */
export const HistoryEntry = Type.Object(
  {
    /** Per repo, increasing: the order entries were added in. */
    seq: Type.Integer({ minimum: 1 }),
    repo: Type.String(),
    task_id: Type.String(),
    title: Type.String(),
    outcome: StringEnum(HISTORY_OUTCOMES),
    at: Type.Integer(),
    /** Files the work changed (evidence or result), else the files the task named. */
    files: Type.Array(Type.String()),
    commit: Nullable(Type.String()),
    /** Review decisions and feedback given on the task, oldest first. */
    decisions: Type.Array(Type.String()),
    /** Questions asked on it and their answers. */
    answers: Type.Array(Type.Object({ question: Type.String(), answer: Nullable(Type.String()) })),
    /** The last error, for a task that did not complete. */
    error: Nullable(Type.String()),
    /** A one-paragraph summary, when the agent's result carried one; `summary_by` says who wrote it. */
    summary: Nullable(Type.String()),
    summary_by: Nullable(StringEnum(['model', 'agent'] as const)),
    archived: Type.Boolean(),
  },
);
export type HistoryEntry = Static<typeof HistoryEntry>;

/** The sections an assembled context is made of, in the order they are filled. */
export const CONTEXT_SECTIONS = ['plan', 'feedback', 'answers', 'history', 'failures', 'files'] as const;
export type ContextSection = (typeof CONTEXT_SECTIONS)[number];

/** What the hub assembled for a task's prompt, and what it left out for the budget. */
export const AssembledContext = Type.Object({
  /** The text the agent gets beside the task (markdown); '' when nothing fitted or nothing was relevant. */
  text: Type.String(),
  /**
   * The parts of `text` the task record does not hold itself (history, failures, file excerpts):
   * what a prompt that already quotes the task's plan, feedback and answers adds (the sidecar's).
   */
  extras: Type.Optional(Type.String()),
  /** Estimated tokens of `text` (docs/context.md: ceil(UTF-8 bytes / 4)); never above `budget`. */
  tokens: Type.Integer({ minimum: 0 }),
  budget: Type.Integer({ minimum: 0 }),
  /** What went in: section and what it is (a task id, a file). */
  included: Type.Array(Type.Object({ section: StringEnum(CONTEXT_SECTIONS), ref: Type.String(), tokens: Type.Integer(), score: Type.Optional(Type.Number()) })),
  /** What was relevant but did not fit the budget. */
  left_out: Type.Array(Type.Object({ section: StringEnum(CONTEXT_SECTIONS), ref: Type.String(), tokens: Type.Integer(), score: Type.Optional(Type.Number()) })),
  assembled_at: Type.Integer(),
});
export type AssembledContext = Static<typeof AssembledContext>;

// ------------------------------------------------------------------ REST (hub/api/history.ts)

export const HistoryParams = Type.Object({ repo: Id });
export const HistoryQuery = Type.Object(
  {
    /** Words that must all appear (title, files, decisions, answers, summary), case-insensitive. */
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** live (default): the newest 100; archived: older ones; all: both, newest first. */
    scope: Type.Optional(StringEnum(['live', 'archived', 'all'] as const)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
export type HistoryQuery = Static<typeof HistoryQuery>;
export const HistoryList = Type.Object({ repo: Type.String(), live: Type.Integer(), archived: Type.Integer(), entries: Type.Array(HistoryEntry) });
export type HistoryList = Static<typeof HistoryList>;
