/** REST: /v1/agents — register (the token is shown once), list with live state, show, remove. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { SwitchyardError } from '../../shared/errors.js';
import { assertValid } from '../../shared/validate.js';
import type { AgentRegistry } from '../agents/registry.js';
import type { Authenticator, Principal } from '../auth/authenticator.js';
import { hashToken, newToken } from '../auth/tokens.js';
import type { AgentStore, AgentRecord } from '../store/agent-store.js';
import { CLOSE } from '../gateway/close-codes.js';
import { objectBody } from './http.js';
import { releaseLeasesOf } from '../agents/release-leases.js';
import type { TaskStore } from '../store/task-store.js';

export const AgentCreateBody = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._:/@-]*$' }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

export function agentRoutes(
  app: FastifyInstance,
  agents: AgentStore,
  registry: AgentRegistry,
  auth: Authenticator,
  store: TaskStore,
  now: () => number,
): void {
  const view = (record: AgentRecord) => {
    const live = registry.get(record.id);
    const { token_hash: _hidden, ...rest } = record;
    return { ...rest, ...(live ? registry.view(live) : { state: 'offline', tasks: [] }) };
  };

  app.post('/v1/agents', async (req, reply) => {
    const body = assertValid(AgentCreateBody, objectBody(req.body), 'agent');
    const token = newToken('sy_agent');
    const record = await agents.create({
      id: body.id,
      token_hash: hashToken(token),
      created_at: now(),
      created_by: (req.principal as Principal).actor,
      description: body.description ?? '',
    });
    auth.addAgent(record.id, record.token_hash);
    return reply.status(201).send({ agent: view(record), token });
  });

  app.get('/v1/agents', async () => ({ agents: (await agents.list()).map(view) }));

  app.get('/v1/agents/:id', async (req) => {
    const { id } = req.params as { id: string };
    const record = await agents.get(id);
    if (!record) throw new SwitchyardError('AGENT_NOT_FOUND', `no agent ${id}`);
    return view(record);
  });

  // An operator fixed something on the host (logged in, pulled a model): recheck now rather
  // than at the next scheduled recheck. The result arrives as the sidecar's next advert.
  app.post('/v1/agents/:id/recheck', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!(await agents.get(id))) throw new SwitchyardError('AGENT_NOT_FOUND', `no agent ${id}`);
    const conn = registry.get(id)?.conn;
    if (!conn) throw new SwitchyardError('AGENT_OFFLINE', `agent ${id} is not connected: start its sidecar, which checks its executors as it connects`);
    conn.send({ type: 'executors.recheck' });
    return reply.status(202).send({ agent_id: id, asked: true });
  });

  app.delete('/v1/agents/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    await agents.delete(id);
    auth.removeAgent(id);
    // From here on nothing the agent sends is acted on (the gateway stops listening to a
    // connection it closed, and the token no longer authenticates), and its tasks go back to
    // the queue now rather than when their leases run out.
    registry.get(id)?.conn?.close(CLOSE.REMOVED, 'agent removed by an operator');
    const released = await releaseLeasesOf(store, id, 'agent removed by an operator', req.log);
    req.log.info({ agent_id: id, released }, 'agent removed');
    return reply.status(204).send();
  });
}
