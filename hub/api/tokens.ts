/** REST: /v1/tokens — API tokens with a role (add: shown once; list; revoke), and the admin token's rotation. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../shared/errors.js';
import { Ref } from '../../shared/schema.js';
import { AdminRotated, TokenCreateBody, TokenCreated, TokenIdParams, TokenList, TokenView } from '../../shared/tokens.js';
import type { Services } from '../service/index.js';
import { callerOf } from './auth-hook.js';
import { answer, withErrors } from './validation.js';

const error = Ref(ErrorBody);

export function tokenRoutes(fastify: FastifyInstance, { tokens }: Services): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/v1/tokens',
    {
      config: { action: 'tokens.write' },
      schema: {
        summary: 'Add an API token with a role (admin, operator, viewer, metrics); the answer holds the token, shown once',
        body: TokenCreateBody,
        response: withErrors({ 201: answer('Added; the token is in this answer only', TokenCreated) }, error),
      },
    },
    async (req, reply) => reply.status(201).send(await tokens.create(callerOf(req), req.body)),
  );

  app.get(
    '/v1/tokens',
    { config: { action: 'tokens.read' }, schema: { summary: 'API tokens: name, role, creator, expiry, last use, revocation (never the token)', response: withErrors({ 200: answer('Every API token', TokenList) }, error) } },
    async (req) => ({ tokens: await tokens.list(callerOf(req)) }),
  );

  app.delete(
    '/v1/tokens/:id',
    {
      config: { action: 'tokens.write' },
      schema: { summary: 'Revoke a token: it stops working at once, and feeds it opened are closed', params: TokenIdParams, response: withErrors({ 200: answer('The token, revoked', Ref(TokenView)) }, error) },
    },
    async (req) => tokens.revoke(callerOf(req), req.params.id),
  );

  app.post(
    '/v1/tokens/rotate-admin',
    {
      config: { action: 'tokens.write' },
      schema: { summary: 'Rotate the admin token without a restart: the answer holds the new one; the old one stops working at once', response: withErrors({ 200: answer('The new admin token', AdminRotated) }, error) },
    },
    async (req) => tokens.rotateAdmin(callerOf(req)),
  );
}
