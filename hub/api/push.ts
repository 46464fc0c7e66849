/**
 * REST: push notifications (docs/push.md; the rules are hub/service/push.ts's).
 *
 *   GET    /v1/push/key                 the VAPID public key to subscribe with
 *   POST   /v1/push/subscriptions       subscribe a browser (its PushSubscription, the alert kinds it wants)
 *   GET    /v1/push/subscriptions       the subscriptions (origins only) and the sender's counts
 *   DELETE /v1/push/subscriptions/:id   unsubscribe
 *   POST   /v1/push/test                a test notification to every subscription; waits for the outcomes
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../shared/errors.js';
import { PushKey, PushSubscribeBody, PushSubscribed, PushSubscriptionIdParams, PushSubscriptionList, PushTestResult, PushUnsubscribed } from '../../shared/push.js';
import { Ref } from '../../shared/schema.js';
import type { Services } from '../service/index.js';
import { callerOf } from './auth-hook.js';
import { answer, withErrors } from './validation.js';

const error = Ref(ErrorBody);

export function pushRoutes(fastify: FastifyInstance, { push }: Services): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/push/key',
    { config: { action: 'push.read' }, schema: { summary: "The hub's VAPID public key (the applicationServerKey browsers subscribe with)", response: withErrors({ 200: answer('The key; the same across restarts', PushKey) }, error) } },
    async (req) => push.key(callerOf(req)),
  );

  app.post(
    '/v1/push/subscriptions',
    {
      config: { action: 'push.write' },
      schema: {
        summary: 'Subscribe a browser to alert notifications (the same endpoint again updates it)',
        body: PushSubscribeBody,
        response: withErrors({ 201: answer('Subscribed (durable)', PushSubscribed), 200: answer('This endpoint was subscribed already: its kinds and label updated', PushSubscribed) }, error),
      },
    },
    async (req, reply) => {
      const out = await push.subscribe(callerOf(req), req.body, req.log);
      return reply.status(out.created ? 201 : 200).send(out);
    },
  );

  app.get(
    '/v1/push/subscriptions',
    { config: { action: 'push.read' }, schema: { summary: "The push subscriptions (endpoint origins only) and the sender's counts", response: withErrors({ 200: answer('Every subscription', PushSubscriptionList) }, error) } },
    async (req) => push.list(callerOf(req)),
  );

  app.delete(
    '/v1/push/subscriptions/:id',
    { config: { action: 'push.write' }, schema: { summary: 'Unsubscribe', params: PushSubscriptionIdParams, response: withErrors({ 200: answer('Removed (durable)', PushUnsubscribed) }, error) } },
    async (req) => push.unsubscribe(callerOf(req), req.params.id, req.log),
  );

  app.post(
    '/v1/push/test',
    {
      config: { action: 'push.write' },
      schema: { summary: 'Send a test notification to every subscription and wait for the outcomes (retries included)', response: withErrors({ 200: answer('How many push services took it', PushTestResult) }, error) },
    },
    async (req) => push.test(callerOf(req)),
  );
}
