/** REST: GET /v1/metrics (Prometheus text) and GET /v1/metrics/history (the dashboard's last hour). */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { MetricsHistory } from '../../shared/alerts.js';
import { ErrorBody } from '../../shared/errors.js';
import { Ref } from '../../shared/schema.js';
import type { Services } from '../service/index.js';
import { callerOf } from './auth-hook.js';
import { answer, withErrors } from './validation.js';

const error = Ref(ErrorBody);

export function metricsRoutes(fastify: FastifyInstance, { metrics }: Services): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/metrics',
    {
      config: { action: 'metrics.read' },
      schema: {
        summary: 'Prometheus metrics (text exposition format 0.0.4): queue, tasks, agents, sockets, store, backups, push, process',
        // Text, not JSON: the 200 answer is declared per media type (errors stay JSON).
        response: { ...withErrors({}, error), 200: { description: 'The metrics, as Prometheus scrapes them', content: { 'text/plain': { schema: Type.String() } } } },
      },
    },
    async (req, reply) => {
      const { contentType, body } = await metrics.text(callerOf(req));
      return reply.type(contentType).send(body);
    },
  );

  app.get(
    '/v1/metrics/history',
    {
      config: { action: 'metrics.read' },
      schema: { summary: "The hub's own last hour at 10 s steps (the dashboard's charts), oldest first", response: withErrors({ 200: answer('The points', MetricsHistory) }, error) },
    },
    async (req) => metrics.recent(callerOf(req)),
  );
}
