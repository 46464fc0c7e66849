/**
 * The supervision gate (docs/workflow.md, "The gate"): at creation, complexity × risk decides how
 * much supervision a task gets, and the decision and its reason are recorded on the task.
 *
 *   risk high                      -> strict  (plan, approval, then a security guardian)
 *   risk medium, or complex work   -> plan    (plan, approval, then the implementation)
 *   otherwise                      -> auto    (dispatched now)
 *
 * A `shell` task is always `auto` unless its spec says otherwise: it runs a given command, there
 * is no plan for an agent to make. Risk is given, or inferred by `inferRisk`: words in the title,
 * description and notes, and paths in the context files and allowed paths, that touch auth,
 * secrets, payments, migrations, CI or infrastructure. Pure: no I/O.
 */
import type { Complexity, TaskSpec } from '../../shared/task.js';
import type { GuardianRole, Risk, Supervision, SupervisionMode } from '../../shared/workflow.js';

/** Words that make a task high-risk: what a mistake there costs is out of proportion. */
const HIGH_WORDS =
  /\b(auth|authn|authz|authenticat\w*|authori[sz]\w*|oauth|passwords?|secrets?|credentials?|api[ -]?keys?|private[ -]keys?|tokens?|payments?|billing|invoices?|stripe|migrations?|migrat\w+|ci|pipelines?|github actions|infrastructure|infra|terraform|kubernetes|k8s|helm|iam|encrypt\w*|crypto\w*)\b/i;
/** Words that make a task medium-risk. */
const MEDIUM_WORDS = /\b(deploy\w*|release|database|schema|permissions?|production|prod|dependenc(y|ies) upgrade|docker\w*)\b/i;
/** Paths that make a task high-risk. */
const HIGH_PATHS =
  /(^|\/)(auth|secrets?|payments?|billing|migrations?|\.github\/workflows|infra|infrastructure|terraform|k8s|helm|deploy)(\/|$)|(^|\/)(Dockerfile|\.env(\..*)?|.*\.(tf|pem|key))$|(^|\/)\.gitlab-ci\.yml$|(^|\/)Jenkinsfile$/i;

export interface RiskDecision {
  risk: Risk;
  reason: string;
}

/** The risk a spec gives, or the heuristic's, with the word or path that decided it. */
export function inferRisk(spec: TaskSpec): RiskDecision {
  if (spec.risk) return { risk: spec.risk, reason: 'risk given' };
  for (const path of [...(spec.context?.files ?? []), ...(spec.allowed_paths ?? [])]) {
    if (HIGH_PATHS.test(path)) return { risk: 'high', reason: `path '${path}'` };
  }
  const text = `${spec.title}\n${spec.description ?? ''}\n${spec.context?.notes ?? ''}`;
  const high = HIGH_WORDS.exec(text);
  if (high) return { risk: 'high', reason: `word '${high[0].toLowerCase()}'` };
  const medium = MEDIUM_WORDS.exec(text);
  if (medium) return { risk: 'medium', reason: `word '${medium[0].toLowerCase()}'` };
  return { risk: 'low', reason: 'no risky words or paths' };
}

/** The gate's mode for a spec whose complexity is known. */
export function decideSupervision(spec: TaskSpec, complexity: Complexity): Supervision {
  const { risk, reason: riskReason } = inferRisk(spec);
  if (spec.supervision) return { mode: spec.supervision, risk, reason: 'mode given', decided_by: 'gate' };
  if (spec.executor === 'shell') return { mode: 'auto', risk, reason: 'shell command: nothing to plan', decided_by: 'gate' };
  let mode: SupervisionMode = 'auto';
  let reason = `risk ${risk} (${riskReason}), complexity ${complexity}`;
  if (risk === 'high') mode = 'strict';
  else if (risk === 'medium' || complexity === 'complex') mode = 'plan';
  else reason = `low risk, complexity ${complexity}`;
  return { mode, risk, reason, decided_by: 'gate' };
}

/** The chain a mode implies: strict puts a security guardian first. */
export function chainFor(mode: SupervisionMode, chain: readonly GuardianRole[]): GuardianRole[] {
  if (mode !== 'strict') return [...chain];
  return ['security', ...chain.filter((r) => r !== 'security')];
}
