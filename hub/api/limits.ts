/** REST: /v1/limits — the rate limits in force, and per-subject overrides (raise, lower, exempt) that persist. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../shared/errors.js';
import { LimitOverride, LimitOverrideBody, LimitOverrideCleared, LimitsView, LimitSubjectParams } from '../../shared/limits.js';
import { Ref } from '../../shared/schema.js';
import type { Services } from '../service/index.js';
import { callerOf } from './auth-hook.js';
import { answer, withErrors } from './validation.js';

const error = Ref(ErrorBody);

export function limitRoutes(fastify: FastifyInstance, { limits }: Services): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/limits',
    { config: { action: 'limits.read' }, schema: { summary: 'The rate limits in force and the overrides', response: withErrors({ 200: answer('Limits', LimitsView) }, error) } },
    async (req) => limits.view(callerOf(req)),
  );

  app.put(
    '/v1/limits/overrides/:subject',
    {
      config: { action: 'limits.write' },
      schema: {
        summary: "Set a subject's override (admin, token:<id>, agent:<id>, address:<ip>): a factor on its limits, or exempt",
        params: LimitSubjectParams,
        body: LimitOverrideBody,
        response: withErrors({ 200: answer('The override, in force now and kept across restarts', LimitOverride) }, error),
      },
    },
    async (req) => limits.set(callerOf(req), req.params.subject, req.body),
  );

  app.delete(
    '/v1/limits/overrides/:subject',
    {
      config: { action: 'limits.write' },
      schema: { summary: "Remove a subject's override: the defaults apply again", params: LimitSubjectParams, response: withErrors({ 200: answer('Whether there was one', LimitOverrideCleared) }, error) },
    },
    async (req) => ({ subject: req.params.subject, cleared: await limits.clear(callerOf(req), req.params.subject) }),
  );
}
