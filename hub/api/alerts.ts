/** REST: /v1/alerts — list (active, acknowledged, history) and acknowledge. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { AlertAnswer, AlertIdParams, AlertList, AlertListQuery } from '../../shared/alerts.js';
import { ErrorBody } from '../../shared/errors.js';
import { Ref } from '../../shared/schema.js';
import type { Services } from '../service/index.js';
import { callerOf } from './auth-hook.js';
import { answer, withErrors } from './validation.js';

const error = Ref(ErrorBody);

export function alertRoutes(fastify: FastifyInstance, { alerts }: Services): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/alerts',
    {
      config: { action: 'alerts.read' },
      schema: {
        summary: 'Alerts by state (default active; all = open ones, then the history), newest first',
        querystring: AlertListQuery,
        response: withErrors({ 200: answer('The alerts', AlertList) }, error),
      },
    },
    async (req) => ({ alerts: alerts.list(callerOf(req), req.query) }),
  );

  app.post(
    '/v1/alerts/:id/ack',
    {
      config: { action: 'alerts.write', audit: 'alert.acknowledged' },
      schema: {
        summary: 'Acknowledge an alert: a critical one stops repeating; it stays listed until its condition clears',
        params: AlertIdParams,
        response: withErrors({ 200: answer('The alert after the ack (durable)', AlertAnswer) }, error),
      },
    },
    async (req) => ({ alert: await alerts.ack(callerOf(req), req.params.id) }),
  );
}
