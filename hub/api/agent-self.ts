/**
 * REST: what an agent may do with its own token (the rules are hub/service/self.ts's), for the
 * host's lifecycle commands (`switchyard onboard` verifies, `status` reports, `teardown`
 * deregisters). Nothing here reaches another agent or the fleet.
 *
 *   GET    /v1/self                      this agent's live state (connection, executors, tasks)
 *   DELETE /v1/self                      deregister: the token stops working, held tasks go back to the queue
 *   POST   /v1/self/smoke                queue the hub's fixed smoke task, delegated to this agent
 *   GET    /v1/self/tasks/:id            a task delegated to or leased by this agent, with its events
 *   POST   /v1/self/tasks/:id/cancel     cancel a smoke task this agent queued
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../shared/errors.js';
import { Agent, SelfTask } from '../../shared/rest.js';
import { Ref } from '../../shared/schema.js';
import { Task } from '../../shared/task.js';
import type { Services } from '../service/index.js';
import { answer, withErrors } from './validation.js';

const TaskIdOnly = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

export function agentSelfRoutes(fastify: FastifyInstance, { self }: Services): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  /** Public to the admin hook: each handler authenticates the agent by its own token. */
  const byAgent = (summary: string, ok: Record<number, TSchema>) => ({
    config: { public: true, authBy: 'agent' as const },
    schema: { summary, response: withErrors(ok, Ref(ErrorBody)) },
  });
  const withId = <T extends { schema: object }>(route: T) => ({ ...route, schema: { ...route.schema, params: TaskIdOnly } });

  app.get('/v1/self', byAgent("With an agent's own token: its live state", { 200: answer('This agent', Ref(Agent)) }), async (req) =>
    self.view(self.agentOf(req.headers.authorization)),
  );

  app.delete(
    '/v1/self',
    byAgent("With an agent's own token: deregister (the token stops working, held tasks go back to the queue)", { 204: Type.Null({ description: 'Deregistered' }) }),
    async (req, reply) => {
      await self.deregister(self.agentOf(req.headers.authorization), req.log);
      return reply.status(204).send(null);
    },
  );

  app.post('/v1/self/smoke', byAgent("With an agent's own token: queue the hub's fixed smoke task, delegated to this agent", { 201: answer('The smoke task', Ref(Task)) }), async (req, reply) =>
    reply.status(201).send(await self.smoke(self.agentOf(req.headers.authorization))),
  );

  app.get(
    '/v1/self/tasks/:id',
    withId(byAgent("With an agent's own token: a task delegated to or leased by it, with its events", { 200: answer('The task and its events', SelfTask) })),
    async (req) => self.task(self.agentOf(req.headers.authorization), (req.params as { id: string }).id),
  );

  app.post(
    '/v1/self/tasks/:id/cancel',
    withId(byAgent("With an agent's own token: cancel a smoke task it queued", { 200: answer('The cancelled task', Ref(Task)) })),
    async (req) => self.cancelSmoke(self.agentOf(req.headers.authorization), (req.params as { id: string }).id),
  );
}
