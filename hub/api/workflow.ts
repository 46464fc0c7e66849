/**
 * REST for the review workflow (docs/workflow.md): a blocked task's answer and force-unblock,
 * a rejection with feedback and findings, the gate's override; an agent's question and
 * submission on its own lease (an agent token: the MCP tools and any executor that speaks REST);
 * the escalation queue.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../shared/errors.js';
import { TaskIdParams } from '../../shared/rest.js';
import { Ref } from '../../shared/schema.js';
import { Task } from '../../shared/task.js';
import {
  AnswerBody,
  AskBody,
  EscalationAnswer,
  EscalationIdParams,
  EscalationList,
  EscalationListQuery,
  FeedbackBody,
  ResolveBody,
  SubmitBody,
  SupervisionBody,
  UnblockBody,
} from '../../shared/workflow.js';
import type { Services } from '../service/index.js';
import { callerOf } from './auth-hook.js';
import { answer, withErrors } from './validation.js';

const error = Ref(ErrorBody);
const taskAnswer = (what: string) => withErrors({ 200: answer(what, Ref(Task)) }, error);

export function workflowRoutes(fastify: FastifyInstance, { workflow, escalations }: Services): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/v1/tasks/:id/answer',
    { config: { action: 'tasks.answer' }, schema: { summary: "Answer a blocked task's question: it is queued again with the answer in its context", params: TaskIdParams, body: AnswerBody, response: taskAnswer('The task after the answer (durable)') } },
    async (req) => workflow.answer(callerOf(req), req.params.id, req.body.answer),
  );

  app.post(
    '/v1/tasks/:id/force-unblock',
    { config: { action: 'tasks.answer' }, schema: { summary: 'Queue a blocked task again without an answer', params: TaskIdParams, body: UnblockBody, response: taskAnswer('The task after the unblock (durable)') } },
    async (req) => workflow.forceUnblock(callerOf(req), req.params.id, req.body?.note),
  );

  app.post(
    '/v1/tasks/:id/request-changes',
    {
      config: { action: 'tasks.review' },
      schema: {
        summary: 'Reject a task in review with feedback and findings: reopened with them in its next prompt, counted by the circuit breaker',
        params: TaskIdParams,
        body: FeedbackBody,
        response: taskAnswer('The task after the rejection (durable)'),
      },
    },
    async (req) => workflow.reject(callerOf(req), req.params.id, req.body.feedback, req.body.findings),
  );

  app.post(
    '/v1/tasks/:id/supervision',
    { config: { action: 'tasks.review' }, schema: { summary: "Override the supervision gate's mode (auto, plan, strict) of a task not running or in review", params: TaskIdParams, body: SupervisionBody, response: taskAnswer('The task with its new mode (durable)') } },
    async (req) => workflow.setSupervision(callerOf(req), req.params.id, req.body.mode, req.body.reason),
  );

  app.post(
    '/v1/tasks/:id/ask',
    { config: { action: 'tasks.ask' }, schema: { summary: 'An agent asks a question on its own running task (agent token): the task goes blocked', params: TaskIdParams, body: AskBody, response: taskAnswer('The blocked task (durable)') } },
    async (req) => {
      const { generation, ...question } = req.body;
      return workflow.ask(callerOf(req), req.params.id, generation, question);
    },
  );

  app.post(
    '/v1/tasks/:id/submit',
    { config: { action: 'tasks.submit' }, schema: { summary: 'An agent submits its task with structured evidence (agent token): review or completed', params: TaskIdParams, body: SubmitBody, response: taskAnswer('The task after the submission (durable)') } },
    async (req) => workflow.submit(callerOf(req), req.params.id, req.body.generation, { evidence: req.body.evidence, ...(req.body.result !== undefined ? { result: req.body.result } : {}) }),
  );

  app.get(
    '/v1/escalations',
    { config: { action: 'escalations.read' }, schema: { summary: 'Escalations (default open: by priority, oldest first; resolved: newest first)', querystring: EscalationListQuery, response: withErrors({ 200: answer('The escalations', EscalationList) }, error) } },
    async (req) => ({ escalations: escalations.list(callerOf(req), req.query) }),
  );

  app.get(
    '/v1/escalations/:id',
    { config: { action: 'escalations.read' }, schema: { summary: 'One escalation', params: EscalationIdParams, response: withErrors({ 200: answer('The escalation', EscalationAnswer) }, error) } },
    async (req) => ({ escalation: escalations.get(callerOf(req), req.params.id) }),
  );

  app.post(
    '/v1/escalations/:id/resolve',
    { config: { action: 'escalations.write', audit: 'escalation.resolved' }, schema: { summary: 'Resolve an escalation (what was done about it, in resolution)', params: EscalationIdParams, body: ResolveBody, response: withErrors({ 200: answer('The escalation after it (durable)', EscalationAnswer) }, error) } },
    async (req) => ({ escalation: await escalations.resolve(callerOf(req), req.params.id, req.body?.resolution) }),
  );
}
