/**
 * The audit log's edge (docs/security.md, "Audit"): `GET /v1/audit`, and the entries of routes
 * whose service does not write one with its change (`config.audit`: backups, acknowledgements,
 * join tokens, escalations) — recorded once the change answered with success, naming its caller.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import { AuditPage, AuditQuery } from '../../shared/audit.js';
import { ErrorBody } from '../../shared/errors.js';
import { Ref } from '../../shared/schema.js';
import { callerOf } from '../api/auth-hook.js';
import { answer, withErrors } from '../api/validation.js';
import type { AuditService } from '../service/audit.js';
import { feature } from './feature.js';

export const auditFeature = feature<{ audit: AuditService; log: Logger }>('audit', async (fastify, { audit, log }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/audit',
    {
      config: { action: 'audit.read' },
      schema: { summary: 'Who changed what: task changes and the hub’s other changes, filtered by actor, action and time (oldest first)', querystring: AuditQuery, response: withErrors({ 200: answer('Audit entries', AuditPage) }, Ref(ErrorBody)) },
    },
    async (req) => audit.list(callerOf(req), req.query),
  );
});

/** Registered at the root (a feature's hooks stay in its own scope): records `config.audit` routes. */
export function installAuditHook(app: import('fastify').FastifyInstance, audit: AuditService, log: Logger): void {
  // Before the answer leaves: a caller told "done" finds the entry.
  app.addHook('onSend', async (req, reply, payload) => {
    const action = req.routeOptions.config?.audit;
    if (!action || reply.statusCode >= 300 || !req.principal) return payload;
    const params = (req.params ?? {}) as Record<string, unknown>;
    const subject = typeof params.id === 'string' ? params.id : '';
    await audit.record(req.principal, action, subject, `${req.method} ${req.routeOptions.url}`).catch((err: unknown) => log.error({ err, action }, 'could not write an audit entry'));
    return payload;
  });
}
