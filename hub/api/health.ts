/**
 * GET /v1/health — public: `ok` or `degraded` (with why), the store, agents, queue depth by lane,
 * dropped log lines. POST /v1/health/ack — admin: the operator's acknowledgement that ends a
 * degraded state that needs one (docs/operations.md, "Degraded mode and a full disk").
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../shared/errors.js';
import { Health, HealthAck } from '../../shared/rest.js';
import { Ref } from '../../shared/schema.js';
import type { Services } from '../service/index.js';
import { answer, withErrors } from './validation.js';

export function healthRoutes(fastify: FastifyInstance, { health }: Services): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/health',
    {
      config: { public: true },
      schema: {
        summary: 'Health: 200 ok, 503 degraded (the store takes no writes; `degraded` says why)',
        response: { 200: answer('ok', Health), 503: answer('degraded: the task store takes no writes for now; reads and the feed go on', Health) },
      },
    },
    async (_req, reply) => {
      const report = await health.report();
      return reply.status(report.status === 'ok' ? 200 : 503).send(report);
    },
  );
  app.post(
    '/v1/health/ack',
    {
      config: { action: 'health.ack', audit: 'health.acknowledged' },
      schema: {
        summary: 'Acknowledge a degraded state that needs an operator (a restore that lost data): writes resume once the disk takes them',
        response: withErrors({ 200: answer('Acknowledged (or nothing waited: acknowledged false); the health after it', HealthAck) }, Ref(ErrorBody)),
      },
    },
    async () => {
      const acknowledged = await health.acknowledge();
      return { acknowledged, health: await health.report() };
    },
  );
}
