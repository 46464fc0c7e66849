/**
 * Guardian chains (docs/workflow.md, "Guardian chains"): after an implementation is accepted,
 * the first role of its chain gets a task; each PASS creates the next one, depending on the
 * guardian before it (docs depends on QA, not on the implementation, as in the seeds). A guardian
 * task is for a role: it needs the capability `role:<role>`, so only agents that have the role
 * lease it. It runs on the implementation's repo, lane, executor and model, and carries the link
 * back (`guardian`): the sidecar renders the role's prompt template and runs its mechanical
 * checks; its result carries the verdict. A REJECT restarts the chain from its first role once
 * the reopened implementation is accepted again.
 */
import type { Task, TaskSpec } from '../../shared/task.js';
import { LIMITS } from '../../shared/task.js';
import type { GuardianRole } from '../../shared/workflow.js';
import type { Changes } from '../queue/changes.js';
import { newTaskRecord } from '../queue/normalize.js';

const ROLE_TITLE: Record<GuardianRole, string> = { security: 'Security review', qa: 'QA', docs: 'Docs', ux: 'UX review' };

/** The capability a task for `role` needs. */
export function roleCapability(role: GuardianRole): string {
  return `role:${role}`;
}

/** Creates the guardian task for `role`, depending on `after` (the step just accepted), guarding `target`. */
export function createGuardian(ws: Changes, after: Task, target: Task, role: GuardianRole, rest: GuardianRole[], actor: string): Task {
  const title = `${ROLE_TITLE[role]}: ${target.title}`.slice(0, LIMITS.titleChars);
  const spec: TaskSpec = {
    title,
    description: `Guard the work of task ${target.id} as the ${role} guardian, and end with a verdict: PASS, or REJECT with findings.\n\n${target.description}`.slice(0, LIMITS.textChars),
    context: target.context,
    capabilities: [roleCapability(role)],
    lane: target.lane,
    depends_on: [after.id],
    supervision: 'auto',
    max_attempts: target.max_attempts,
    timeouts: target.timeouts,
    metadata: { guardian_of: target.id },
  };
  if (target.repo !== null) spec.repo = target.repo;
  // A shell implementation's command is not the guardian's: it runs on any executor of its agent.
  // A routed implementation's executor and model are the router's choice for it, not the task's own: not inherited.
  if (!target.route && target.executor !== null && target.executor !== 'shell') spec.executor = target.executor;
  if (!target.route && target.model !== null) spec.model = target.model;
  if (target.env !== undefined) spec.env = target.env;
  if (target.allowed_paths !== undefined) spec.allowed_paths = target.allowed_paths;
  const record = newTaskRecord(spec, ws.tx.newTaskId(), [after.id], actor, ws.now, ws.policy.taskDefaults);
  // Routing capabilities as the service adds them for a created task (service/routing.ts).
  record.capabilities = [...new Set([...record.capabilities, ...(record.executor ? [`executor:${record.executor}`] : []), ...(record.model ? [`model:${record.model}`] : [])])].sort();
  record.guardian = { role, target: target.id, rest, ...workOf(target) };
  // Its dependency (`after`) is completed in this very operation: queued now, and no edge.
  record.status = 'queued';
  record.queued_at = ws.now;
  return ws.record(null, record, actor, `${role} guardian of ${target.id}`);
}

/**
 * Where the implementation's work is, for the guardian's worktree: its evidence (an agent's
 * submission, or the sidecar's own), else the pushed submission in its result.
 */
function workOf(target: Task): { branch?: string; commit?: string } {
  const sub = (target.result as { submission?: { branch?: unknown; commit?: unknown; pushed?: unknown } } | null)?.submission;
  const branch = target.evidence?.branch ?? (sub?.pushed === true && typeof sub.branch === 'string' ? sub.branch : undefined);
  const commit = target.evidence?.commit ?? (sub?.pushed === true && typeof sub.commit === 'string' ? sub.commit : undefined);
  const work: { branch?: string; commit?: string } = {};
  if (branch !== undefined && branch.length <= 256) work.branch = branch;
  if (commit !== undefined && /^[0-9a-f]{7,64}$/.test(commit)) work.commit = commit;
  return work;
}
