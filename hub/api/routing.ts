/** REST: /v1/routing/policy — the routing policy in force (docs/routing.md): read, set, reset. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../shared/errors.js';
import { RoutingPolicy, RoutingPolicyView } from '../../shared/routing.js';
import { Ref } from '../../shared/schema.js';
import type { Services } from '../service/index.js';
import { callerOf } from './auth-hook.js';
import { answer, withErrors } from './validation.js';

const error = Ref(ErrorBody);

export function routingRoutes(fastify: FastifyInstance, { routing }: Services): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/routing/policy',
    { config: { action: 'routing.read' }, schema: { summary: 'The routing policy in force: tiers, candidates, waits (docs/routing.md)', response: withErrors({ 200: answer('The policy, with its defaults filled in, and where it came from', RoutingPolicyView) }, error) } },
    async (req) => routing.view(callerOf(req)),
  );

  app.put(
    '/v1/routing/policy',
    {
      config: { action: 'routing.write' },
      schema: {
        summary: 'Set the routing policy: it applies to tasks created from now on, and persists',
        body: RoutingPolicy,
        response: withErrors({ 200: answer('The policy now in force', RoutingPolicyView) }, error),
      },
    },
    async (req) => routing.set(callerOf(req), req.body),
  );

  app.delete(
    '/v1/routing/policy',
    {
      config: { action: 'routing.write' },
      schema: { summary: 'Forget the policy set over REST: the file named by SWITCHYARD_ROUTING_POLICY, or the default, applies again', response: withErrors({ 200: answer('The policy now in force', RoutingPolicyView) }, error) },
    },
    async (req) => routing.reset(callerOf(req)),
  );
}
