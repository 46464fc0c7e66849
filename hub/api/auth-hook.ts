/**
 * Every route needs a caller allowed to do the route's `action` unless it is marked public in its
 * route config (`config: { public: true }`: GET /v1/health, GET /v1/openapi.json, and the sidecar
 * socket /v1/agent, which authenticates by its hello). The decision is made on the route the
 * router matched, never on the raw URL, so an encoded path cannot slip past it (an unmatched path
 * just gets 404); and before the body is read, so a refused caller learns nothing about its input.
 * The rule itself is hub/service/access.ts's (the services check it again for in-process callers).
 * Browsers cannot set headers on a WebSocket, so the feed also accepts the token in a
 * `Sec-WebSocket-Protocol` entry `bearer.<token>` (the dashboard's way: nothing in the URL), and,
 * for older CLIs, in `?token=` (redacted in logs by shared/logger.ts). A wrong or missing token is
 * refused here, before the upgrade: 401 with the error body.
 */
import type { FastifyInstance } from 'fastify';
import { bearerFromProtocols } from '../../shared/feed.js';
import { bearer } from '../auth/tokens.js';
import type { Principal } from '../auth/authenticator.js';
import { Access, type Action } from '../service/access.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** No admin token needed for this route (it needs none, or checks its own: see `authBy`). */
    public?: boolean;
    /** A dashboard file (hub/features/dashboard.ts): public, and not part of the REST API. */
    ui?: boolean;
    /** A public route that authenticates the caller itself, with a join token or an agent's own token (for OpenAPI). */
    authBy?: 'join' | 'agent' | 'slack';
    /** The audit log's action for a successful call, when no service records it (hub/features/audit.ts). */
    audit?: string;
    /** What the route does, for the access rule. Every route that is not public names one. */
    action?: Action;
    /** The admin token may come in a `bearer.<token>` subprotocol or `?token=` (WebSocket routes used by browsers). */
    tokenInQuery?: boolean;
  }
}

export function installAuth(app: FastifyInstance, access: Access): void {
  app.decorateRequest('principal', null);
  // Fail closed, at start: a route that is neither public nor names its action is a bug.
  app.addHook('onRoute', (route) => {
    if (route.config?.public !== true && route.config?.action === undefined) {
      throw new Error(`route ${route.method} ${route.url} is not public and names no action (config.action)`);
    }
  });
  app.addHook('onRequest', async (req) => {
    // No route matched: the not-found handler answers 404 and reveals nothing.
    if (req.routeOptions.url === undefined) return;
    const config = req.routeOptions.config;
    if (config?.public === true) return;
    let token = bearer(req.headers.authorization);
    if (!token && config?.tokenInQuery === true) token = bearerFromProtocols(req.headers['sec-websocket-protocol']);
    if (!token && config?.tokenInQuery === true) {
      const q = req.query as Record<string, unknown>;
      token = typeof q.token === 'string' ? q.token : null;
    }
    const who = access.authenticate(token);
    Access.authorize(who, config!.action!);
    req.principal = who;
  });
}

/** The authenticated caller of a non-public route (set by the hook above). */
export function callerOf(req: { principal: Principal | null }): Principal {
  return req.principal!;
}
