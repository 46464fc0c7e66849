/**
 * What a finished attempt does under the review workflow (docs/workflow.md): a queue rule over
 * `Changes`, called by the lease rules' `complete` once the lease is checked.
 *
 *  - a guardian's attempt ends with its verdict: PASS completes it and creates the next guardian
 *    of the chain (depending on this one); REJECT completes it too (the guardian did its job) and
 *    reopens the implementation with the findings as feedback, counted by the circuit breaker;
 *    no verdict is a failed attempt (GUARDIAN_NO_VERDICT);
 *  - a plan-phase attempt, or one whose task asks for review, waits in `review`;
 *  - anything else completes, releases its dependants and starts its guardian chain.
 */
import type { Task } from '../../shared/task.js';
import type { Feedback } from '../../shared/workflow.js';
import { transition, type Changes } from '../queue/changes.js';
import { releaseDependants } from '../queue/dependencies.js';
import { failAttempt } from '../queue/retry-policy.js';
import { reopen } from './breaker.js';
import { createGuardian } from './chain.js';
import { parseVerdict } from './verdict.js';
import { Evidence } from '../../shared/workflow.js';
import { compile } from '../../shared/validate.js';

const isEvidence = compile(Evidence);

export async function completeAttempt(ws: Changes, task: Task, actor: string, result: unknown, patch: Partial<Task> = {}): Promise<Task> {
  // The agent reported: whatever it was, it did not crash; the run of expiries ends.
  const fields: Partial<Task> = { ...patch, result: result ?? null };
  // A sidecar sends its evidence inside the result (sidecar/loop/evidence.ts); kept only when well-formed.
  const sent = isObject(result) ? result.evidence : undefined;
  if (fields.evidence === undefined && sent !== undefined && isEvidence(sent)) fields.evidence = sent;
  if (task.breaker && task.breaker.expiries > 0) fields.breaker = { ...task.breaker, expiries: 0 };
  if (task.guardian) return guardianDone(ws, task, actor, result, fields);
  const toReview = task.review || task.phase === 'plan';
  const to = toReview ? 'review' : 'completed';
  const reason = task.phase === 'plan' ? 'plan awaiting approval' : toReview ? 'awaiting review' : 'completed';
  const after = transition(ws, task, to, fields, actor, reason);
  if (to === 'completed') await workApproved(ws, after, actor);
  return after;
}

/** A step of the work is done and accepted: its dependants may start, and its chain begins. */
export async function workApproved(ws: Changes, task: Task, actor: string): Promise<void> {
  await releaseDependants(ws, task, actor);
  if (!task.guardian && task.chain && task.chain.length > 0) {
    const [role, ...rest] = task.chain;
    createGuardian(ws, task, task, role!, rest, actor);
  }
}

async function guardianDone(ws: Changes, task: Task, actor: string, result: unknown, fields: Partial<Task>): Promise<Task> {
  const link = task.guardian!;
  const verdict = parseVerdict(result);
  if (!verdict) {
    return failAttempt(
      ws,
      { ...task, ...fields },
      task,
      { code: 'GUARDIAN_NO_VERDICT', message: `the ${link.role} guardian ended without a verdict (PASS or REJECT)`, retryable: true },
      actor,
    );
  }
  const after = transition(ws, task, 'completed', { ...fields, result: { ...(isObject(result) ? result : { output: result }), verdict: verdict.verdict, ...(verdict.findings ? { findings: verdict.findings } : {}) } }, actor, `${link.role} verdict: ${verdict.verdict}`);
  await releaseDependants(ws, after, actor);
  const target = await ws.read(link.target);
  if (verdict.verdict === 'PASS') {
    const [next, ...rest] = link.rest;
    if (next && target) createGuardian(ws, after, target, next, rest, actor);
    return after;
  }
  // REJECT: the implementation is reopened with the findings, unless it moved on meanwhile (an
  // operator cancelled or reopened it): then the verdict stays on the guardian's own record.
  if (target && target.status === 'completed') {
    const feedback: Feedback = {
      at: ws.now,
      by: `guardian:${link.role}:${task.id}`,
      kind: 'guardian',
      text: verdict.summary ?? `the ${link.role} guardian rejected the work`,
      ...(verdict.findings ? { findings: verdict.findings } : {}),
      attempt: target.attempts,
    };
    await reopen(ws, target, feedback, actor);
  }
  return after;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
