/**
 * The workflow's operations as queue rules over `Changes` (docs/workflow.md): what an agent may
 * do on its own lease (ask a question, submit with evidence) and what an operator decides
 * (answer, force-unblock, approve, reject with feedback, override the gate). The store applies
 * each through `TaskStore.applyRule`, one atomic batch like every other operation.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Task } from '../../shared/task.js';
import type { Clarification, Evidence, Feedback, Finding, Plan, QuestionBody, SupervisionMode } from '../../shared/workflow.js';
import { illegal, transition, type Changes } from '../queue/changes.js';
import { charged, checkLease } from '../queue/leases.js';
import { appendBounded, breakerOf, reopen } from './breaker.js';
import { completeAttempt, workApproved } from './complete.js';
import { chainFor } from './gate.js';
import { parsePlan } from './plan.js';

/** A rule the store runs on one task, on its serial path. */
export type TaskRule = (ws: Changes, task: Task) => Promise<Task> | Task;

// ---------------------------------------------------------------- agent

/**
 * running -> blocked: the lease holder asks a question. The lease ends (the sidecar stops the
 * run), and the attempt is given back: asking is not failing. The answer queues it again.
 */
export function ask(generation: number, agentId: string, question: QuestionBody): TaskRule {
  return (ws, task) => {
    checkLease(task, generation, agentId);
    if (task.status !== 'running') throw illegal(task, 'blocked', 'only a running task can ask (accept it first)');
    const entry: Clarification = {
      question: question.text,
      ...(question.options ? { options: [...question.options] } : {}),
      asked_at: ws.now,
      asked_by: agentId,
      generation,
      answer: null,
      answered_at: null,
      answered_by: null,
    };
    const breaker = breakerOf(task);
    return transition(
      ws,
      task,
      'blocked',
      {
        clarifications: appendBounded(task.clarifications, entry),
        attempts: Math.max(0, task.attempts - 1),
        ...(breaker.expiries > 0 ? { breaker: { ...breaker, expiries: 0 } } : {}),
      },
      `agent:${agentId}`,
      `asked: ${oneLine(question.text)}`,
    );
  };
}

/** The lease holder finishes with structured evidence: review or completed, as `complete`. */
export function submit(generation: number, agentId: string, evidence: Evidence, result: unknown): TaskRule {
  return (ws, task) => {
    checkLease(task, generation, agentId);
    // A result that reports usage (docs/usage.md) is charged as a sidecar's is.
    return completeAttempt(ws, task, `agent:${agentId}`, result === undefined ? { evidence } : result, { evidence, ...charged(task, result) });
  };
}

// ---------------------------------------------------------------- operator

/** blocked -> queued with the answer on the open question (the next prompt carries it). */
export function answer(actor: string, text: string): TaskRule {
  return (ws, task) => unblock(ws, task, actor, text, false);
}

/** blocked -> queued without an answer (the operator's override); `note` is recorded as the answer if given. */
export function forceUnblock(actor: string, note?: string): TaskRule {
  return (ws, task) => unblock(ws, task, actor, note ?? null, true);
}

function unblock(ws: Changes, task: Task, actor: string, text: string | null, forced: boolean): Task {
  if (task.status !== 'blocked') throw illegal(task, 'queued', forced ? 'only a blocked task can be unblocked' : 'only a blocked task (one that asked a question) can be answered');
  const list = [...(task.clarifications ?? [])];
  const open = list.length > 0 ? list[list.length - 1]! : null;
  if (open && open.answered_at === null) {
    list[list.length - 1] = { ...open, answer: text, answered_at: ws.now, answered_by: actor, ...(forced ? { forced: true } : {}) };
  }
  return transition(ws, task, 'queued', { clarifications: list }, actor, forced ? 'unblocked by operator' : 'answered');
}

/**
 * Approves a task in review. A plan is approved: recorded with who and when, and the task is
 * queued for its implementation (the plan goes into its context). Work is completed: its
 * dependants start and its guardian chain begins.
 */
export function approve(actor: string, note?: string): TaskRule {
  return async (ws, task) => {
    if (task.status !== 'review') throw illegal(task, 'completed', 'only a task in review can be approved');
    if (task.phase === 'plan') {
      const plan: Plan = { ...parsePlan(task.result), approved_at: ws.now, approved_by: actor };
      // The plan's attempt succeeded: the implementation gets the whole attempt budget.
      return transition(ws, task, 'queued', { plan, phase: 'implement', result: null, attempts: 0 }, actor, note ? `plan approved: ${oneLine(note)}` : 'plan approved');
    }
    const after = transition(ws, task, 'completed', {}, actor, note ? `approved: ${oneLine(note)}` : 'approved');
    await workApproved(ws, after, actor);
    return after;
  };
}

/**
 * Rejects a task in review with feedback: reopened (queued) with the feedback quoted in its
 * next prompt and one rejection counted by the circuit breaker, which opens at N. A refused plan
 * is planned again with the feedback.
 */
export function reject(actor: string, text: string, findings?: Finding[]): TaskRule {
  return (ws, task) => {
    if (task.status !== 'review') throw illegal(task, 'queued', 'only a task in review can be rejected');
    const feedback: Feedback = {
      at: ws.now,
      by: actor,
      kind: task.phase === 'plan' ? 'plan' : 'review',
      text,
      ...(findings && findings.length > 0 ? { findings } : {}),
      attempt: task.attempts,
    };
    return reopen(ws, task, feedback, actor);
  };
}

/** States in which the gate's mode may be changed: nothing runs and nothing waits for a decision. */
const OVERRIDABLE = new Set<Task['status']>(['pending', 'queued', 'failed', 'blocked', 'dead_letter']);

/** The operator overrides the gate's mode (before the work runs, or between attempts). */
export function overrideSupervision(actor: string, mode: SupervisionMode, reason?: string): TaskRule {
  return (ws, task) => {
    if (!OVERRIDABLE.has(task.status)) {
      throw new SwitchyardError('ILLEGAL_TRANSITION', `task ${task.id} is ${task.status}: change its supervision while it is not running or in review`, { task_id: task.id, status: task.status });
    }
    const risk = task.supervision?.risk ?? 'low';
    const base = (task.chain ?? []).filter((r) => !(task.supervision?.mode === 'strict' && r === 'security'));
    const planned = task.plan?.approved_at != null;
    const patch: Partial<Task> = {
      supervision: { mode, risk, reason: reason ? `override: ${reason}` : 'override', decided_by: actor },
      chain: chainFor(mode, base),
      updated_at: ws.now,
    };
    // A mode with a plan starts at the plan unless one was approved already.
    patch.phase = mode === 'auto' || planned ? 'implement' : 'plan';
    return ws.record(task, { ...task, ...patch }, actor, '');
  };
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
