/**
 * REST: join tokens and the join exchange — how a new agent host registers itself.
 *
 *   POST   /v1/join-tokens       admin: a one-time join token (shown once), with name, capabilities, ttl
 *   GET    /v1/join-tokens       admin: invitations and their status (pending, used, expired, revoked)
 *   DELETE /v1/join-tokens/:id   admin: revoke
 *   POST   /v1/join/check        join token: is it usable, which protocol, which candidate names are taken
 *   POST   /v1/join              join token: register the agent (or repeat the caller's own exchange)
 *
 * The join routes are public to the admin-token hook and authenticate with the join token itself,
 * sent as `Authorization: Bearer sy_join_…` (never in the URL, which ends up in logs). The agent's
 * own routes (`/v1/self…`, agent-self.ts) are registered here too, so that app.ts adds one line.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { SwitchyardError } from '../../shared/errors.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import type { AgentRegistry } from '../agents/registry.js';
import type { Authenticator, Principal } from '../auth/authenticator.js';
import { bearer, hashToken, newToken } from '../auth/tokens.js';
import { CLOSE } from '../gateway/close-codes.js';
import type { AgentStore } from '../store/agent-store.js';
import { joinIdOf, joinStatus, joinStoreOf, type JoinRecord } from '../store/join-store.js';
import type { TaskStore } from '../store/task-store.js';
import { agentSelfRoutes } from './agent-self.js';
import { Id } from '../../shared/ids.js';
import { callerOf } from './auth-hook.js';
import { answer, withErrors } from './validation.js';
import { ErrorBody } from '../../shared/errors.js';
import { JoinChecked, JoinCreated, Joined, JoinList, JoinRevoked } from '../../shared/rest.js';
import { Ref } from '../../shared/schema.js';

const error = Ref(ErrorBody);

const JoinIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });

/** @defaultValue ttl 1 hour; at most 30 days. */
export const DEFAULT_JOIN_TTL_MS = 3_600_000;
const MAX_JOIN_TTL_MS = 30 * 86_400_000;

export const JoinCreateBody = Type.Object(
  {
    name: Type.Optional(Id),
    capabilities: Type.Optional(Type.Array(Id, { maxItems: 32, uniqueItems: true })),
    ttl_ms: Type.Optional(Type.Integer({ minimum: 1000, maximum: MAX_JOIN_TTL_MS })),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

export const JoinCheckBody = Type.Object(
  {
    /** Names the host considers; the answer says which are taken. */
    names: Type.Optional(Type.Array(Id, { maxItems: 1000 })),
    exchange_key: Type.Optional(Type.String({ minLength: 32, maxLength: 256 })),
  },
  { additionalProperties: false },
);

export const JoinBody = Type.Object(
  {
    name: Id,
    /** A secret the host chose and keeps in its onboarding state: proves a repeat is its own. */
    exchange_key: Type.String({ minLength: 32, maxLength: 256 }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

/** What an admin sees of an invitation (never the token or the hashes). */
function joinView(j: JoinRecord, now: number) {
  return {
    id: j.id,
    status: joinStatus(j, now),
    name: j.name,
    capabilities: j.capabilities,
    description: j.description,
    created_at: j.created_at,
    created_by: j.created_by,
    expires_at: j.expires_at,
    revoked_at: j.revoked_at,
    used_at: j.used_at,
    agent_id: j.agent_id,
    reissued: j.reissued,
  };
}

function joinToken(header: string | undefined): string {
  const token = bearer(header);
  if (!token) throw new SwitchyardError('JOIN_TOKEN_INVALID', 'missing join token: send Authorization: Bearer <join token> (from switchyard agent invite)');
  return token;
}

export function joinRoutes(fastify: FastifyInstance, agents: AgentStore, registry: AgentRegistry, auth: Authenticator, store: TaskStore, now: () => number): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const joins = joinStoreOf(agents);
  app.post(
    '/v1/join-tokens',
    { config: { action: 'agents.write' }, schema: { summary: 'A one-time join token for a new host (shown once)', body: JoinCreateBody, response: withErrors({ 201: answer('The invitation; its token is in this answer only', JoinCreated) }, error) } },
    async (req, reply) => {
    const body = req.body;
    if (body.name !== undefined && (await agents.get(body.name))) {
      throw new SwitchyardError('AGENT_EXISTS', `an agent named ${body.name} is already registered: pick another --name, or leave it out to let the host pick one`);
    }
    const token = newToken('sy_join');
    const at = now();
    const record = await joins.create({
      id: joinIdOf(token),
      token_hash: hashToken(token),
      name: body.name ?? null,
      capabilities: body.capabilities ?? [],
      description: body.description ?? '',
      created_at: at,
      created_by: callerOf(req).actor,
      expires_at: at + (body.ttl_ms ?? DEFAULT_JOIN_TTL_MS),
      revoked_at: null,
      used_at: null,
      agent_id: null,
      exchange_key_hash: null,
      reissued: 0,
    });
    req.log.info({ join_id: record.id, name: record.name, expires_at: record.expires_at }, 'join token created');
    return reply.status(201).send({ join: joinView(record, at), token });
  });

  app.get(
    '/v1/join-tokens',
    { config: { action: 'agents.read' }, schema: { summary: 'Invitations and their status (pending, used, expired, revoked)', response: withErrors({ 200: answer('Every invitation', JoinList) }, error) } },
    async () => {
    const at = now();
    return { joins: (await joins.list()).map((j) => joinView(j, at)) };
  });

  app.delete(
    '/v1/join-tokens/:id',
    { config: { action: 'agents.write' }, schema: { summary: 'Revoke a join token', params: JoinIdParams, response: withErrors({ 200: answer('Revoked', JoinRevoked) }, error) } },
    async (req) => {
    const { id } = req.params;
    const revoked = await joins.revoke(id, now());
    req.log.info({ join_id: id }, 'join token revoked');
    return { join: joinView(revoked, now()) };
  });

  const byJoinToken = { public: true, authBy: 'join' as const };
  app.post(
    '/v1/join/check',
    { config: byJoinToken, schema: { summary: 'With a join token: is it usable, which protocol, which names are taken', body: JoinCheckBody, response: withErrors({ 200: answer('Usable', JoinChecked) }, error) } },
    async (req) => {
    const body = req.body;
    const j = await joins.check(joinToken(req.headers.authorization), now(), body.exchange_key);
    const names = [...new Set([...(body.names ?? []), ...(j.name ? [j.name] : [])])];
    const taken: string[] = [];
    for (const n of names) if ((await agents.get(n)) && n !== j.agent_id) taken.push(n);
    return {
      protocol: PROTOCOL_VERSION,
      join: { id: j.id, name: j.name, capabilities: j.capabilities, expires_at: j.expires_at, agent_id: j.agent_id },
      taken,
    };
  });

  app.post(
    '/v1/join',
    {
      config: byJoinToken,
      schema: {
        summary: "With a join token: register the agent (or repeat the caller's own exchange); the answer holds its token",
        body: JoinBody,
        response: withErrors({ 201: answer('Registered', Joined), 200: answer("The caller's own exchange repeated: a fresh token for the same agent", Joined) }, error),
      },
    },
    async (req, reply) => {
    const body = req.body;
    const token = newToken('sy_agent');
    const { join, agent, repeat, previousTokenHash } = await joins.redeem({
      token: joinToken(req.headers.authorization),
      name: body.name,
      exchangeKey: body.exchange_key,
      agentTokenHash: hashToken(token),
      description: body.description ?? '',
      now: now(),
    });
    if (previousTokenHash !== null) {
      // The reissued token replaces the old one at once; a connection made with the old one ends.
      auth.removeAgent(agent.id);
      registry.get(agent.id)?.conn?.close(CLOSE.UNAUTHORIZED, 'agent token reissued');
    }
    auth.addAgent(agent.id, agent.token_hash);
    req.log.info({ join_id: join.id, agent_id: agent.id, repeat }, repeat ? 'join exchange repeated: agent token reissued' : 'agent registered by join token');
    const { token_hash: _hidden, ...view } = agent;
    return reply.status(repeat ? 200 : 201).send({ agent: view, token, protocol: PROTOCOL_VERSION, capabilities: join.capabilities, repeat });
  });

  agentSelfRoutes(fastify, agents, registry, auth, store);
}
