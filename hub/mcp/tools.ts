/**
 * The MCP tools (docs/mcp.md): each a thin call to one service method, with its argument schema
 * (zod, as the SDK takes it: the SDK refuses arguments that do not match before the tool runs)
 * and its scope (hub/mcp/scopes.ts). Task specs and evidence are checked again by their TypeBox
 * schemas in the services, so a tool takes exactly what REST takes.
 */
import { z } from 'zod';
import { SwitchyardError } from '../../shared/errors.js';
import type { Task } from '../../shared/task.js';
import { termsOfTask } from '../history/service.js';
import type { Services } from '../service/index.js';
import type { Principal } from '../service/access.js';
import type { ToolName } from './scopes.js';

export interface ToolContext {
  services: Services;
  /** The caller, with the MCP client as its actor (`<actor> via mcp:<client>`). */
  caller: Principal;
}

export interface ToolDef {
  description: string;
  input: z.ZodRawShape;
  run(ctx: ToolContext, args: Record<string, unknown>): Promise<unknown>;
}

const taskId = z.string().min(1).max(64).describe('The task id (a ULID)');
const generation = z.number().int().min(0).describe('The lease generation claim_task returned: fences every later call');
const text = (what: string) => z.string().min(1).max(16_384).describe(what);
const finding = z.object({
  message: z.string().min(1),
  file: z.string().max(1024).optional(),
  line: z.number().int().min(0).optional(),
  severity: z.enum(['info', 'low', 'medium', 'high', 'critical']).optional(),
});
const evidence = z
  .object({
    test_command: z.string().max(4096).optional(),
    test_result: z.enum(['passed', 'failed', 'not_run']).optional(),
    test_output: z.string().max(16_384).optional(),
    commit: z.string().regex(/^[0-9a-f]{7,64}$/).optional(),
    branch: z.string().max(256).optional(),
    files_changed: z.array(z.string().max(1024)).max(1000).optional(),
    coverage: z.number().min(0).max(100).optional(),
    notes: z.string().max(16_384).optional(),
  })
  .strict();

/** A task as a worker needs it: what to do, its lease, and the context the hub assembled. */
function forWorker(task: Task): unknown {
  return {
    id: task.id,
    title: task.title,
    description: task.description,
    repo: task.repo,
    status: task.status,
    generation: task.generation,
    lease: task.lease,
    success_criteria: task.success_criteria,
    verification: task.verification,
    context: task.context,
    assembled_context: task.assembled_context?.text ?? '',
    plan: task.plan ?? null,
    feedback: task.feedback ?? [],
    clarifications: task.clarifications ?? [],
  };
}

export const TOOLS: Record<ToolName, ToolDef> = {
  // ---------------------------------------------------------------- worker
  claim_task: {
    description:
      'Claim the best queued task you can run (or one named task): you get it running, with a lease and its generation. Renew with renew_lease before lease.expires_at (at half its length). Answers {task: null} when nothing is ready.',
    input: {
      capabilities: z.array(z.string().min(1).max(64)).max(32).optional().describe('What you can do: only tasks needing no more than these are claimed'),
      repos: z.array(z.string().min(1).max(64)).max(256).optional().describe('Repos you work on (default any)'),
      task_id: taskId.optional(),
    },
    async run({ services, caller }, a) {
      const task = await services.worker.claim(caller, {
        ...(a.capabilities ? { capabilities: a.capabilities as string[] } : {}),
        ...(a.repos ? { repos: a.repos as string[] } : {}),
        ...(a.task_id ? { taskId: a.task_id as string } : {}),
      });
      return { task: task ? forWorker(task) : null };
    },
  },
  renew_lease: {
    description: "Extend your lease on a task you claimed. STALE_GENERATION or NOT_LEASE_HOLDER means it is no longer yours: stop working on it.",
    input: { task_id: taskId, generation },
    async run({ services, caller }, a) {
      const task = await services.worker.renew(caller, a.task_id as string, a.generation as number);
      return { task_id: task.id, generation: task.generation, expires_at: task.lease?.expires_at ?? null };
    },
  },
  ask_clarification: {
    description: 'Ask the operator a question about your running task: it is blocked (your lease ends) until answered; then it is queued again with the answer in its context.',
    input: { task_id: taskId, generation, question: text('The question'), options: z.array(z.string().min(1).max(1024)).max(16).optional() },
    async run({ services, caller }, a) {
      const task = await services.workflow.ask(caller, a.task_id as string, a.generation as number, {
        text: a.question as string,
        ...(a.options ? { options: a.options as string[] } : {}),
      });
      return { task_id: task.id, status: task.status };
    },
  },
  check_task_status: {
    description: "A task you hold or asked about: its status, lease, and any answer, feedback or plan given since.",
    input: { task_id: taskId },
    async run({ services, caller }, a) {
      return { task: forWorker(await services.worker.own(caller, a.task_id as string)) };
    },
  },
  submit_for_review: {
    description: 'Finish your task: it goes to review (or completes, where no review is required). Prefer submit_for_review_with_evidence.',
    input: { task_id: taskId, generation, summary: text('What you did').optional(), result: z.unknown().optional() },
    async run({ services, caller }, a) {
      const task = await services.workflow.submit(caller, a.task_id as string, a.generation as number, {
        evidence: a.summary ? { notes: a.summary as string } : {},
        ...(a.result !== undefined ? { result: a.result } : {}),
      });
      return { task_id: task.id, status: task.status };
    },
  },
  submit_for_review_with_evidence: {
    description: 'Finish your task with proof: the test command and result, the commit, the files changed, coverage.',
    input: { task_id: taskId, generation, evidence, result: z.unknown().optional() },
    async run({ services, caller }, a) {
      const task = await services.workflow.submit(caller, a.task_id as string, a.generation as number, {
        evidence: a.evidence as Record<string, unknown>,
        ...(a.result !== undefined ? { result: a.result } : {}),
      });
      return { task_id: task.id, status: task.status, evidence: task.evidence ?? null };
    },
  },
  get_task_history: {
    description: "A task's conversation log (questions and answers, review feedback, the plan) and the project history most relevant to it.",
    input: { task_id: taskId, limit: z.number().int().min(1).max(50).optional() },
    async run({ services, caller }, a) {
      const task = caller.kind === 'agent' ? await services.worker.own(caller, a.task_id as string) : await services.tasks.get(caller, a.task_id as string);
      const relevant = services.history.relevant(task, (a.limit as number | undefined) ?? 10);
      return {
        task_id: task.id,
        clarifications: task.clarifications ?? [],
        feedback: task.feedback ?? [],
        plan: task.plan ?? null,
        evidence: task.evidence ?? null,
        terms: termsOfTask(task),
        project_history: relevant.map((s) => ({ score: s.score, ...s.entry })),
      };
    },
  },

  // ---------------------------------------------------------------- architect
  create_task: {
    description:
      'Create one task (`task`) or many in one all-or-nothing call (`tasks`), which may depend on each other by `ref` (depends_on: [ref]). The spec is the REST one (docs/tasks.md).',
    input: {
      task: z.record(z.string(), z.unknown()).optional().describe('One task spec'),
      tasks: z.array(z.record(z.string(), z.unknown())).min(1).max(256).optional().describe('Many task specs, created together'),
    },
    async run({ services, caller }, a) {
      const specs = (a.tasks ?? (a.task ? [a.task] : [])) as Array<Record<string, unknown>>;
      if (specs.length === 0 || (a.task && a.tasks)) {
        throw new SwitchyardError('VALIDATION_FAILED', 'create_task: give either `task` or `tasks`', { errors: [{ path: '/', message: 'one of task, tasks' }] });
      }
      const results = await services.tasks.createMany(caller, specs as never[]);
      return { tasks: results.map((r, i) => ({ id: r.task.id, ref: (specs[i]?.ref as string | undefined) ?? null, title: r.task.title, status: r.task.status, depends_on: r.task.depends_on, created: r.created })) };
    },
  },
  respond_to_blocker: {
    description: "Answer a blocked task's open question: it is queued again with the answer in its context.",
    input: { task_id: taskId, answer: text('The answer') },
    async run({ services, caller }, a) {
      const task = await services.workflow.answer(caller, a.task_id as string, a.answer as string);
      return { task_id: task.id, status: task.status };
    },
  },
  approve_work: {
    description: 'Approve a task in review: completed (a plan: queued for its implementation).',
    input: { task_id: taskId, note: text('A note for the record').optional() },
    async run({ services, caller }, a) {
      const task = await services.workflow.approve(caller, a.task_id as string, a.note as string | undefined);
      return { task_id: task.id, status: task.status };
    },
  },
  reject_work: {
    description: 'Reject a task in review with feedback (required): reopened with the feedback in its next prompt; the circuit breaker counts it.',
    input: { task_id: taskId, feedback: text('What must change'), findings: z.array(finding).max(64).optional() },
    async run({ services, caller }, a) {
      const task = await services.workflow.reject(caller, a.task_id as string, a.feedback as string, a.findings as never);
      return { task_id: task.id, status: task.status };
    },
  },

  // ---------------------------------------------------------------- admin
  requeue_task: {
    description: 'Queue a dead-lettered task again (or a failed one now, skipping its backoff).',
    input: { task_id: taskId },
    async run({ services, caller }, a) {
      const task = await services.tasks.retry(caller, a.task_id as string);
      return { task_id: task.id, status: task.status };
    },
  },
  force_unblock: {
    description: 'Queue a blocked task again without an answer (its question stays recorded, marked forced).',
    input: { task_id: taskId, note: text('Why').optional() },
    async run({ services, caller }, a) {
      const task = await services.workflow.forceUnblock(caller, a.task_id as string, a.note as string | undefined);
      return { task_id: task.id, status: task.status };
    },
  },
  cancel_task: {
    description: 'Cancel a task (its running attempt is stopped).',
    input: { task_id: taskId, reason: z.string().min(1).max(1000).optional() },
    async run({ services, caller }, a) {
      const task = await services.tasks.cancel(caller, a.task_id as string, a.reason as string | undefined);
      return { task_id: task.id, status: task.status };
    },
  },
  sweep_stale_leases: {
    description: 'Requeue every task whose lease has expired, now (the hub also does it on timers).',
    input: {},
    async run({ services, caller }) {
      return { requeued: await services.worker.sweep(caller) };
    },
  },
};
