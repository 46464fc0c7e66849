/**
 * The review workflow's actions (docs/workflow.md), for every edge: REST, the CLI, the agent
 * gateway's `task.ask`, MCP tools and ChatOps commands call these and never the store. Each
 * checks its caller, validates what an in-process caller passes (REST has validated already; a
 * Slack command or an MCP tool has not), and runs one workflow rule on the store's serial path:
 * one atomic, durable change, announced on the bus as `task.changed` like any other.
 *
 *   agent (its own lease, fenced by generation):  ask · submit
 *   operator:  answer · forceUnblock · approve · reject (with feedback) · setSupervision
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Task } from '../../shared/task.js';
import { assertValid } from '../../shared/validate.js';
import { Evidence, Finding, QuestionBody, SUPERVISION_MODES, WORKFLOW_LIMITS, type SupervisionMode } from '../../shared/workflow.js';
import { Type } from '@sinclair/typebox';
import type { TaskStore } from '../store/task-store.js';
import * as rules from '../workflow/rules.js';
import { Access, type Principal } from './access.js';

/** What an agent submits for review: structured evidence, and its result if it has one beside it. */
export interface Submission {
  evidence: Evidence;
  result?: unknown;
}

const Findings = Type.Array(Finding, { maxItems: WORKFLOW_LIMITS.findings });

export class WorkflowService {
  constructor(private readonly store: TaskStore) {}

  // ---------------------------------------------------------------- agent

  /**
   * The agent asks a question on its own leased, running task (generation-fenced): the task goes
   * `blocked` with the question recorded, its lease ends (the sidecar stops the run) and the
   * attempt is not counted. STALE_GENERATION / NOT_LEASE_HOLDER for a lease it does not hold.
   */
  async ask(caller: Principal, taskId: string, generation: number, question: QuestionBody): Promise<Task> {
    Access.authorize(caller, 'tasks.ask');
    const q = assertValid(QuestionBody, question, 'question');
    return this.store.applyRule(taskId, rules.ask(generation, agentIdOf(caller), q));
  }

  /**
   * The agent finishes its leased task with structured evidence (test command and result, commit,
   * files changed, coverage): the evidence is recorded on the task, which then goes to `review`
   * (a plan, or a task that requires review) or `completed`, as a `task.complete` would.
   */
  async submit(caller: Principal, taskId: string, generation: number, submission: Submission): Promise<Task> {
    Access.authorize(caller, 'tasks.submit');
    const evidence = assertValid(Evidence, submission?.evidence, 'evidence');
    return this.store.applyRule(taskId, rules.submit(generation, agentIdOf(caller), evidence, submission.result));
  }

  // ---------------------------------------------------------------- operator

  /** Answers a blocked task's open question: it is queued again with the answer in its context. */
  async answer(caller: Principal, taskId: string, answer: string): Promise<Task> {
    Access.authorize(caller, 'tasks.answer');
    return this.store.applyRule(taskId, rules.answer(caller.actor, text(answer, 'answer')));
  }

  /** Queues a blocked task again without an answer (the question stays recorded, marked forced). */
  async forceUnblock(caller: Principal, taskId: string, note?: string): Promise<Task> {
    Access.authorize(caller, 'tasks.answer');
    return this.store.applyRule(taskId, rules.forceUnblock(caller.actor, note === undefined ? undefined : text(note, 'note')));
  }

  /**
   * Approves a task in review: work is completed (its dependants start, its guardian chain
   * begins); a plan is approved and the task queued for its implementation with the plan.
   */
  async approve(caller: Principal, taskId: string, note?: string): Promise<Task> {
    Access.authorize(caller, 'tasks.review');
    return this.store.applyRule(taskId, rules.approve(caller.actor, note === undefined ? undefined : text(note, 'note')));
  }

  /**
   * Rejects a task in review WITH feedback (required): it is reopened (queued) with the feedback
   * quoted in its next prompt and one rejection counted; at N (default 3) the circuit breaker
   * opens instead (dead_letter, CIRCUIT_OPEN, an escalation and a critical alert).
   */
  async reject(caller: Principal, taskId: string, feedback: string, findings?: Finding[]): Promise<Task> {
    Access.authorize(caller, 'tasks.review');
    const list = findings === undefined ? undefined : assertValid(Findings, findings, 'findings');
    return this.store.applyRule(taskId, rules.reject(caller.actor, text(feedback, 'feedback'), list));
  }

  /** Overrides the gate's mode (auto, plan, strict) of a task that is not running or in review. */
  async setSupervision(caller: Principal, taskId: string, mode: SupervisionMode, reason?: string): Promise<Task> {
    Access.authorize(caller, 'tasks.review');
    if (!(SUPERVISION_MODES as readonly string[]).includes(mode)) {
      throw new SwitchyardError('VALIDATION_FAILED', `mode must be one of ${SUPERVISION_MODES.join(', ')}`, { errors: [{ path: '/mode', message: 'unknown mode' }] });
    }
    return this.store.applyRule(taskId, rules.overrideSupervision(caller.actor, mode, reason === undefined ? undefined : text(reason, 'reason')));
  }
}

function agentIdOf(caller: Principal): string {
  if (caller.kind !== 'agent') throw new SwitchyardError('FORBIDDEN', 'only the agent that holds the lease may do this', {});
  return caller.agentId;
}

/** A required text: non-empty after trimming, at most WORKFLOW_LIMITS.textChars. */
function text(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new SwitchyardError('VALIDATION_FAILED', `${what} is required: a non-empty text`, { errors: [{ path: `/${what}`, message: 'must be a non-empty string' }] });
  }
  if (value.length > WORKFLOW_LIMITS.textChars) {
    throw new SwitchyardError('VALIDATION_FAILED', `${what} is longer than ${WORKFLOW_LIMITS.textChars} characters`, { errors: [{ path: `/${what}`, message: 'too long' }] });
  }
  return value;
}
