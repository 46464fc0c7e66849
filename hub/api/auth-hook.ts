/**
 * Every /v1 route needs the admin token, except GET /v1/health (public) and the sidecar socket
 * /v1/agent (authenticated by its hello message). The feed accepts the token in `?token=`
 * too, since browsers cannot set headers on a WebSocket.
 */
import type { FastifyInstance } from 'fastify';
import { bearer } from '../auth/tokens.js';
import type { Authenticator, Principal } from '../auth/authenticator.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const PUBLIC = new Set(['/v1/health', '/v1/agent']);

export function installAuth(app: FastifyInstance, auth: Authenticator): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?')[0]!;
    if (PUBLIC.has(path) || !path.startsWith('/v1/')) return;
    let token = bearer(req.headers.authorization);
    if (!token && path === '/v1/feed') {
      const q = req.query as Record<string, unknown>;
      token = typeof q.token === 'string' ? q.token : null;
    }
    req.principal = auth.requireAdmin(token);
  });
}
