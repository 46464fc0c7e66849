/**
 * Every route needs the admin token unless it is marked public in its route config
 * (`config: { public: true }`: GET /v1/health, and the sidecar socket /v1/agent, which
 * authenticates by its hello). The decision is made on the route the router matched, never on
 * the raw URL, so an encoded path cannot slip past it (an unmatched path just gets 404).
 * The feed accepts the token in `?token=`, since browsers cannot set headers on a WebSocket.
 */
import type { FastifyInstance } from 'fastify';
import { bearer } from '../auth/tokens.js';
import type { Authenticator, Principal } from '../auth/authenticator.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** No token needed for this route. */
    public?: boolean;
    /** The admin token may come in `?token=` (WebSocket routes used by browsers). */
    tokenInQuery?: boolean;
  }
}

export function installAuth(app: FastifyInstance, auth: Authenticator): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req) => {
    // No route matched: the not-found handler answers 404 and reveals nothing.
    if (req.routeOptions.url === undefined) return;
    const config = req.routeOptions.config;
    if (config?.public === true) return;
    let token = bearer(req.headers.authorization);
    if (!token && config?.tokenInQuery === true) {
      const q = req.query as Record<string, unknown>;
      token = typeof q.token === 'string' ? q.token : null;
    }
    req.principal = auth.requireAdmin(token);
  });
}
