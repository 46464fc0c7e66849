/**
 * REST: what an agent may do with its own token, for the host's lifecycle commands
 * (`switchyard onboard` verifies, `status` reports, `teardown` deregisters). Nothing here reaches
 * another agent or the fleet: agent tokens stay refused on every other REST route.
 *
 *   GET    /v1/self                      this agent's live state (connection, executors, tasks)
 *   DELETE /v1/self                      deregister: the token stops working, held tasks go back to the queue
 *   POST   /v1/self/smoke                queue the hub's fixed smoke task, delegated to this agent
 *   GET    /v1/self/tasks/:id            a task delegated to or leased by this agent, with its events
 *   POST   /v1/self/tasks/:id/cancel     cancel a smoke task this agent queued
 *
 * The smoke task's command is the hub's, not the caller's: an agent token cannot queue work.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { Agent, SelfTask } from '../../shared/rest.js';
import { Ref } from '../../shared/schema.js';
import { Task as TaskSchema } from '../../shared/task.js';
import { answer, withErrors } from './validation.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorBody, SwitchyardError } from '../../shared/errors.js';
import type { Task } from '../../shared/task.js';
import type { AgentRegistry } from '../agents/registry.js';
import { releaseLeasesOf } from '../agents/release-leases.js';
import type { Authenticator } from '../auth/authenticator.js';
import { bearer } from '../auth/tokens.js';
import { CLOSE } from '../gateway/close-codes.js';
import { validateSpec } from '../queue/normalize.js';
import type { AgentStore } from '../store/agent-store.js';
import type { TaskStore } from '../store/task-store.js';
import { withRoutingCapabilities } from '../service/routing.js';

const TaskIdOnly = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

/** What the smoke task runs: proves the host's shell executor, its scratch workspace and its result path. */
export const SMOKE_COMMAND = 'echo "switchyard smoke test: $(uname -sm) on $(hostname)"; pwd';

const isSmoke = (t: Task, agentId: string) => t.created_by === `agent:${agentId}` && (t.metadata as Record<string, unknown>).smoke === true;

export function agentSelfRoutes(app: FastifyInstance, agents: AgentStore, registry: AgentRegistry, auth: Authenticator, store: TaskStore): void {
  /** The calling agent's id, from its own token. */
  const self = (req: FastifyRequest): string => {
    const token = bearer(req.headers.authorization);
    const who = auth.identify(token);
    if (!who || who.kind !== 'agent') {
      throw new SwitchyardError(
        'UNAUTHORIZED',
        token ? 'not an agent token of this hub (the agent was removed, or its token was reissued)' : 'missing bearer token: send Authorization: Bearer <agent token>',
      );
    }
    return who.agentId;
  };
  const pub = (summary: string, ok: Record<number, TSchema>, params?: boolean) => ({
    config: { public: true, authBy: 'agent' as const },
    schema: { summary, ...(params ? { params: TaskIdOnly } : {}), response: withErrors(ok, Ref(ErrorBody)) },
  });

  app.get('/v1/self', pub("With an agent's own token: its live state", { 200: answer('This agent', Ref(Agent)) }), async (req) => {
    const id = self(req);
    const record = await agents.get(id);
    if (!record) throw new SwitchyardError('UNAUTHORIZED', `agent ${id} is not registered any more`);
    const live = registry.get(id);
    const { token_hash: _hidden, ...rest } = record;
    return { ...rest, ...(live ? registry.view(live) : { state: 'offline', tasks: [] }) };
  });

  app.delete('/v1/self', pub("With an agent's own token: deregister (the token stops working, held tasks go back to the queue)", { 204: Type.Null({ description: 'Deregistered' }) }), async (req, reply) => {
    const id = self(req);
    await agents.delete(id);
    auth.removeAgent(id);
    registry.get(id)?.conn?.close(CLOSE.REMOVED, 'agent deregistered itself');
    const released = await releaseLeasesOf(store, id, 'agent deregistered itself', req.log);
    req.log.info({ agent_id: id, released }, 'agent deregistered itself');
    return reply.status(204).send();
  });

  app.post('/v1/self/smoke', pub("With an agent's own token: queue the hub's fixed smoke task, delegated to this agent", { 201: answer('The smoke task', Ref(TaskSchema)) }), async (req, reply) => {
    const id = self(req);
    const spec = withRoutingCapabilities(
      validateSpec(
        {
          title: `Smoke test of ${id}`,
          description: 'Queued by switchyard onboard: proves that this agent takes, runs and reports a task.',
          executor: 'shell',
          command: SMOKE_COMMAND,
          agent: id,
          lane: 'urgent',
          max_attempts: 1,
          timeouts: { start_ms: 30_000, lease_ms: 60_000, overall_ms: 120_000 },
          metadata: { smoke: true },
        },
        'smoke task',
      ),
    );
    const { task } = await store.create(spec, `agent:${id}`);
    return reply.status(201).send(task);
  });

  const ownTask = async (req: FastifyRequest): Promise<{ id: string; task: Task }> => {
    const id = self(req);
    const { id: taskId } = req.params as { id: string };
    const task = await store.get(taskId);
    // Another agent's task is reported as missing, not as forbidden: it reveals nothing.
    if (!task || (task.agent !== id && task.lease?.agent_id !== id && !isSmoke(task, id))) throw new SwitchyardError('TASK_NOT_FOUND', `no task ${taskId} of agent ${id}`);
    return { id, task };
  };

  app.get('/v1/self/tasks/:id', pub("With an agent's own token: a task delegated to or leased by it, with its events", { 200: answer('The task and its events', SelfTask) }, true), async (req) => {
    const { task } = await ownTask(req);
    const events = await store.events({ taskId: task.id, limit: 1000 });
    return { task, events: events.items };
  });

  app.post('/v1/self/tasks/:id/cancel', pub("With an agent's own token: cancel a smoke task it queued", { 200: answer('The cancelled task', Ref(TaskSchema)) }, true), async (req) => {
    const { id, task } = await ownTask(req);
    if (!isSmoke(task, id)) throw new SwitchyardError('FORBIDDEN', 'an agent may cancel only the smoke tasks it queued');
    return store.cancel(task.id, `agent:${id}`, 'smoke task abandoned by switchyard onboard');
  });
}
