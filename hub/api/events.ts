/** REST: /v1/events — the audit log, oldest first, with a cursor. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../shared/errors.js';
import { EventPage, EventQuery } from '../../shared/rest.js';
import { Ref } from '../../shared/schema.js';
import type { Services } from '../service/index.js';
import { callerOf } from './auth-hook.js';
import { answer, withErrors } from './validation.js';

export function eventRoutes(fastify: FastifyInstance, { tasks }: Services): void {
  fastify.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/events',
    { config: { action: 'events.read' }, schema: { summary: 'The audit log, oldest first', querystring: EventQuery, response: withErrors({ 200: answer('A page of the log, oldest first', EventPage) }, Ref(ErrorBody)) } },
    async (req) => {
      const page = await tasks.events(callerOf(req), req.query);
      return { events: page.items, next: page.next };
    },
  );
}
