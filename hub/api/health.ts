/** GET /v1/health — public: `ok` or `degraded`, the store, agents, queue depth by lane. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Health } from '../../shared/rest.js';
import type { Services } from '../service/index.js';
import { answer } from './validation.js';

export function healthRoutes(fastify: FastifyInstance, { health }: Services): void {
  fastify.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/health',
    { config: { public: true }, schema: { summary: 'Health: 200 ok, 503 degraded (the store takes no writes)', response: { 200: answer('ok', Health), 503: answer('degraded: the task store takes no writes until the hub is restarted', Health) } } },
    async (_req, reply) => {
      const report = await health.report();
      return reply.status(report.status === 'ok' ? 200 : 503).send(report);
    },
  );
}
