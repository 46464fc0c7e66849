/** REST: /v1/agents — register (the token is shown once), list with live state, show, change, recheck, remove. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../shared/errors.js';
import { Agent, AgentCreateBody, AgentCreated, AgentIdParams, AgentList, AgentPatchBody, RecheckAsked } from '../../shared/rest.js';
import { Ref } from '../../shared/schema.js';
import type { Services } from '../service/index.js';
import { callerOf } from './auth-hook.js';
import { answer, withErrors } from './validation.js';

const error = Ref(ErrorBody);

export function agentRoutes(fastify: FastifyInstance, { agents }: Services): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/v1/agents',
    {
      config: { action: 'agents.write' },
      schema: { summary: "Register an agent; the answer holds its token, shown once", body: AgentCreateBody, response: withErrors({ 201: answer('Registered; the token is in this answer only', AgentCreated) }, error) },
    },
    async (req, reply) => reply.status(201).send(await agents.register(callerOf(req), req.body)),
  );

  app.get(
    '/v1/agents',
    { config: { action: 'agents.read' }, schema: { summary: 'Registered agents with their live state', response: withErrors({ 200: answer('Every registered agent', AgentList) }, error) } },
    async (req) => ({ agents: await agents.list(callerOf(req)) }),
  );

  app.get(
    '/v1/agents/:id',
    { config: { action: 'agents.read' }, schema: { summary: 'One agent', params: AgentIdParams, response: withErrors({ 200: answer('The agent', Ref(Agent)) }, error) } },
    async (req) => agents.get(callerOf(req), req.params.id),
  );

  app.patch(
    '/v1/agents/:id',
    {
      config: { action: 'agents.write' },
      schema: {
        summary: "Change an agent's priority (its rank among equally loaded agents, -100..100, higher first) or description",
        params: AgentIdParams,
        body: AgentPatchBody,
        response: withErrors({ 200: answer('The agent as changed', Ref(Agent)) }, error),
      },
    },
    async (req) => agents.update(callerOf(req), req.params.id, req.body),
  );

  app.post(
    '/v1/agents/:id/recheck',
    {
      config: { action: 'agents.write' },
      schema: { summary: "Ask a connected agent's sidecar to recheck its executors now", params: AgentIdParams, response: withErrors({ 202: answer('Asked; the result arrives as the agent\'s next advert (GET /v1/agents/:id)', RecheckAsked) }, error) },
    },
    async (req, reply) => {
      await agents.recheck(callerOf(req), req.params.id);
      return reply.status(202).send({ agent_id: req.params.id, asked: true as const });
    },
  );

  app.delete(
    '/v1/agents/:id',
    {
      config: { action: 'agents.write' },
      schema: { summary: 'Remove an agent: its token stops working, its tasks go back to the queue', params: AgentIdParams, response: withErrors({ 204: Type.Null({ description: 'Removed' }) }, error) },
    },
    async (req, reply) => {
      await agents.remove(callerOf(req), req.params.id, req.log);
      return reply.status(204).send(null);
    },
  );
}
