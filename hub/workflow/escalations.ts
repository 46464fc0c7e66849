/**
 * Which escalations a task change raises or resolves (docs/workflow.md, "Escalations"). Pure:
 * the escalation service applies the decisions, the feature feeds it the bus's changes.
 *
 *   -> dead_letter with CIRCUIT_OPEN        raise circuit_open (critical)
 *   -> review, phase plan                   raise plan_approval (high for high risk, else normal)
 *   -> review of high-risk work             raise high_risk_review (high)
 *   leaving review / dead_letter / blocked  resolve what the state had raised
 * An unanswered question and an untaken delegation are raised by the watchdog (watchdog.ts),
 * which watches time rather than changes.
 */
import type { Task } from '../../shared/task.js';
import type { EscalationKind, EscalationPriority } from '../../shared/workflow.js';

export interface Raise {
  kind: EscalationKind;
  priority: EscalationPriority;
  title: string;
  message: string;
}

export interface EscalationDecision {
  raise: Raise[];
  /** Kinds whose open escalation for this task is resolved, with the resolution. */
  resolve: Array<{ kind: EscalationKind; resolution: string }>;
}

const NONE: EscalationDecision = Object.freeze({ raise: [], resolve: [] }) as EscalationDecision;

export function decideEscalations(before: Task | null, after: Task, actor: string): EscalationDecision {
  if (before && before.status === after.status) return NONE;
  const out: EscalationDecision = { raise: [], resolve: [] };
  const by = actor ? ` by ${actor}` : '';
  if (before?.status === 'review') {
    out.resolve.push({ kind: 'plan_approval', resolution: `${after.status}${by}` });
    out.resolve.push({ kind: 'high_risk_review', resolution: `${after.status}${by}` });
  }
  if (before?.status === 'dead_letter') out.resolve.push({ kind: 'circuit_open', resolution: `${after.status}${by}` });
  if (before?.status === 'blocked') out.resolve.push({ kind: 'unanswered_question', resolution: `${after.status}${by}` });
  if (after.status === 'dead_letter' && after.last_error?.code === 'CIRCUIT_OPEN') {
    out.raise.push({ kind: 'circuit_open', priority: 'critical', title: `Circuit breaker open: ${after.title}`, message: after.last_error.message });
  }
  if (after.status === 'review') {
    const risk = after.supervision?.risk ?? 'low';
    if (after.phase === 'plan') {
      out.raise.push({ kind: 'plan_approval', priority: risk === 'high' ? 'high' : 'normal', title: `Plan awaiting approval: ${after.title}`, message: `approve: switchyard task approve ${after.id}; refuse with feedback: switchyard task reject ${after.id} "why"` });
    } else if (risk === 'high') {
      out.raise.push({ kind: 'high_risk_review', priority: 'high', title: `High-risk work awaiting review: ${after.title}`, message: `${after.supervision?.reason ?? 'high risk'}; approve or reject with feedback` });
    }
  }
  return out;
}
