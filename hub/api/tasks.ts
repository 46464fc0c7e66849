/** REST: /v1/tasks — create (one or a batch), list, show with events, cancel, retry, review. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../shared/errors.js';
import {
  CreateTaskHeaders,
  TaskActionBody,
  TaskBatchBody,
  TaskBatchResult,
  TaskDetail,
  TaskIdParams,
  TaskListQuery,
  TaskPage,
} from '../../shared/rest.js';
import { Ref } from '../../shared/schema.js';
import { Task, TaskSpec } from '../../shared/task.js';
import type { Action } from '../service/access.js';
import type { Services } from '../service/index.js';
import { callerOf } from './auth-hook.js';
import { answer, withErrors } from './validation.js';

const error = Ref(ErrorBody);

export function taskRoutes(fastify: FastifyInstance, { tasks, review }: Services): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/v1/tasks',
    {
      config: { action: 'tasks.write' },
      schema: {
        summary: 'Create a task (201); the same idempotency key again returns the same task (200)',
        body: Ref(TaskSpec),
        headers: CreateTaskHeaders,
        response: withErrors({ 201: answer('Created (durable): the stored task', Ref(Task)), 200: answer('The task this idempotency key already names; nothing written', Ref(Task)) }, error),
      },
    },
    async (req, reply) => {
      const { task, created } = await tasks.create(callerOf(req), req.body, { idempotencyKey: req.headers['idempotency-key'] });
      return reply.status(created ? 201 : 200).send(task);
    },
  );

  app.post(
    '/v1/tasks/batch',
    {
      config: { action: 'tasks.write', tier: 'heavy' },
      schema: {
        summary: 'Create up to 1000 tasks in one atomic write; they may depend on each other by ref',
        body: TaskBatchBody,
        response: withErrors({ 201: answer('Created (durable), in the order given', TaskBatchResult), 200: answer('Every task existed already (by idempotency key); nothing written', TaskBatchResult) }, error),
      },
    },
    async (req, reply) => {
      const results = await tasks.createMany(callerOf(req), req.body.tasks);
      const anyCreated = results.some((r) => r.created);
      return reply.status(anyCreated ? 201 : 200).send({ tasks: results.map((r) => r.task), created: results.map((r) => r.created) });
    },
  );

  app.get(
    '/v1/tasks',
    {
      config: { action: 'tasks.read' },
      schema: { summary: 'List tasks, filtered and paged', querystring: TaskListQuery, response: withErrors({ 200: answer('A page of tasks, oldest first', TaskPage) }, error) },
    },
    async (req) => {
      const page = await tasks.list(callerOf(req), req.query);
      return { tasks: page.items, next: page.next };
    },
  );

  app.get(
    '/v1/tasks/:id',
    {
      config: { action: 'tasks.read' },
      schema: {
        summary: 'A task with its events, live output, and why a queued task waits',
        params: TaskIdParams,
        response: withErrors({ 200: answer('The task', TaskDetail) }, error),
      },
    },
    async (req) => tasks.show(callerOf(req), req.params.id),
  );

  const action = (path: string, what: Action, summary: string, run: (req: { principal: Parameters<typeof callerOf>[0]['principal']; id: string; reason: string | undefined }) => Promise<Task>) =>
    app.post(
      `/v1/tasks/:id/${path}`,
      {
        config: { action: what },
        schema: { summary, params: TaskIdParams, body: TaskActionBody, response: withErrors({ 200: answer('The task after the change (durable)', Ref(Task)) }, error) },
      },
      async (req) => run({ principal: req.principal, id: req.params.id, reason: req.body?.reason }),
    );

  action('cancel', 'tasks.write', 'Cancel a task', (r) => tasks.cancel(callerOf(r), r.id, r.reason));
  action('retry', 'tasks.write', 'Retry a dead-lettered task (or a failed one now)', (r) => tasks.retry(callerOf(r), r.id));
  action('approve', 'tasks.review', 'Approve a task in review', (r) => review.approve(callerOf(r), r.id));
  action('reject', 'tasks.review', 'Reject a task in review (it is retried)', (r) => review.reject(callerOf(r), r.id, r.reason));
}
