/** REST: /v1/repos/:repo/history — a repo's project history, live or archived, searchable (docs/context.md). */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { HistoryList, HistoryParams, HistoryQuery } from '../../shared/context.js';
import { ErrorBody } from '../../shared/errors.js';
import { Ref } from '../../shared/schema.js';
import type { HistoryService } from '../history/service.js';
import { callerOf } from './auth-hook.js';
import { answer, withErrors } from './validation.js';

const error = Ref(ErrorBody);

export function historyRoutes(fastify: FastifyInstance, history: HistoryService): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/repos/:repo/history',
    {
      config: { action: 'history.read' },
      schema: {
        summary: "A repo's history, newest first: an entry per finished task (live: the newest 100; archived: older; all), filtered by words",
        params: HistoryParams,
        querystring: HistoryQuery,
        response: withErrors({ 200: answer('The entries', HistoryList) }, error),
      },
    },
    async (req) => history.list(callerOf(req), req.params.repo, req.query),
  );
}
