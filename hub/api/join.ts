/**
 * REST: join tokens and the join exchange — how a new agent host registers itself (the rules are
 * hub/service/joining.ts's; the agent's own routes are agent-self.ts, registered from here so that
 * app.ts adds one line).
 *
 *   POST   /v1/join-tokens       admin: a one-time join token (shown once), with name, capabilities, ttl
 *   GET    /v1/join-tokens       admin: invitations and their status (pending, used, expired, revoked)
 *   DELETE /v1/join-tokens/:id   admin: revoke
 *   POST   /v1/join/check        join token: is it usable, which protocol, which candidate names are taken
 *   POST   /v1/join              join token: register the agent (or repeat the caller's own exchange)
 *
 * The join routes are public to the admin-token hook and authenticate with the join token itself,
 * sent as `Authorization: Bearer sy_join_…` (never in the URL, which ends up in logs).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ErrorBody } from '../../shared/errors.js';
import { Id } from '../../shared/ids.js';
import { JoinChecked, JoinCreated, Joined, JoinList, JoinRevoked } from '../../shared/rest.js';
import { Ref } from '../../shared/schema.js';
import { joinTokenOf } from '../service/joining.js';
import type { Services } from '../service/index.js';
import { agentSelfRoutes } from './agent-self.js';
import { callerOf } from './auth-hook.js';
import { answer, withErrors } from './validation.js';

const error = Ref(ErrorBody);

/** A join token lives at most 30 days (the default is DEFAULT_JOIN_TTL_MS, 1 hour). */
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

const JoinIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });

export function joinRoutes(fastify: FastifyInstance, services: Services): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { joining } = services;

  app.post(
    '/v1/join-tokens',
    { config: { action: 'agents.write', audit: 'join_token.added' }, schema: { summary: 'A one-time join token for a new host (shown once)', body: JoinCreateBody, response: withErrors({ 201: answer('The invitation; its token is in this answer only', JoinCreated) }, error) } },
    async (req, reply) => reply.status(201).send(await joining.invite(callerOf(req), req.body, req.log)),
  );

  app.get(
    '/v1/join-tokens',
    { config: { action: 'agents.read' }, schema: { summary: 'Invitations and their status (pending, used, expired, revoked)', response: withErrors({ 200: answer('Every invitation', JoinList) }, error) } },
    async (req) => joining.list(callerOf(req)),
  );

  app.delete(
    '/v1/join-tokens/:id',
    { config: { action: 'agents.write', audit: 'join_token.revoked' }, schema: { summary: 'Revoke a join token', params: JoinIdParams, response: withErrors({ 200: answer('Revoked', JoinRevoked) }, error) } },
    async (req) => joining.revoke(callerOf(req), req.params.id, req.log),
  );

  const byJoinToken = { public: true, authBy: 'join' as const, tier: 'heavy' as const };
  app.post(
    '/v1/join/check',
    { config: byJoinToken, schema: { summary: 'With a join token: is it usable, which protocol, which names are taken', body: JoinCheckBody, response: withErrors({ 200: answer('Usable', JoinChecked) }, error) } },
    async (req) => joining.check(joinTokenOf(req.headers.authorization), req.body),
  );

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
      const joined = await joining.join(joinTokenOf(req.headers.authorization), req.body, req.log);
      return reply.status(joined.repeat ? 200 : 201).send(joined);
    },
  );

  agentSelfRoutes(fastify, services);
}
