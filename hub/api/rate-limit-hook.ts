/**
 * Rate limits on the REST edge (hub/edge/rate-limits.ts; docs/security.md). Two hooks around the
 * auth hook, both before any body is read:
 *
 *  - before it: an address that has failed authentication too often waits (guessing tokens costs
 *    time), an address kept out after violations may not open an agent socket, and a WebSocket
 *    route counts a new connection per address;
 *  - after it: the request counts in its tier — the route's `tier`, else its action's (reads are
 *    light; agent, token, backup and limit changes heavy; the rest normal) — against its caller
 *    (`admin`, `token:<id>`, `agent:<id>`) and its address.
 *
 * Over a budget: 429 RATE_LIMITED with `Retry-After` and `details.retry_after_ms`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SwitchyardError } from '../../shared/errors.js';
import type { Tier } from '../../shared/limits.js';
import type { Principal } from '../auth/authenticator.js';
import type { RateLimits, Refusal } from '../edge/rate-limits.js';
import type { Violations } from '../edge/violations.js';
import type { Action } from '../service/access.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's rate-limit tier, when its action's is not right (batch creation, joining). */
    tier?: Tier;
  }
}

const HEAVY = new Set<Action>(['agents.write', 'tokens.write', 'backups.write', 'limits.write']);

export function tierOf(action: Action | undefined): Tier {
  if (action === undefined || action.endsWith('.read')) return 'light';
  return HEAVY.has(action) ? 'heavy' : 'normal';
}

/** Who a caller is counted as. */
export function subjectOf(who: Principal): string {
  if (who.kind === 'agent') return `agent:${who.agentId}`;
  return 'tokenId' in who && who.tokenId ? `token:${who.tokenId}` : 'admin';
}

export const addressOf = (req: FastifyRequest) => `address:${req.ip}`;

function refuse(r: Refusal, what: string): never {
  throw new SwitchyardError('RATE_LIMITED', `${what}: wait ${Math.ceil(r.retryAfterMs / 1000)} s before trying again (each refusal in a row doubles the wait)`, { retry_after_ms: r.retryAfterMs, budget: r.budget });
}

/** Registered before the auth hook. */
export function installPreAuthLimits(app: FastifyInstance, limits: RateLimits, violations?: Violations): void {
  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.url === undefined) return;
    const address = addressOf(req);
    // An address kept out after violations may not open agent sockets; the rest of the API (an
    // operator on the same box) is not held with it.
    const out = req.routeOptions.url === '/v1/agent' ? (violations?.bannedFor(address) ?? 0) : 0;
    if (out > 0) {
      throw new SwitchyardError('TOO_MANY_VIOLATIONS', `this address sent too many refused frames or bodies: it is kept out for ${Math.ceil(out / 1000)} s more`, { retry_after_ms: out });
    }
    const failed = await limits.wait('auth_failures', address);
    if (failed) refuse(failed, 'too many requests from this address were refused for a bad or missing token');
    if (req.headers.upgrade?.toLowerCase() === 'websocket') {
      const r = await limits.take('connects', [address]);
      if (r) refuse(r, 'too many new connections from this address');
    }
  });
  // A refused token costs the address from its budget of failures; an agent's refused bodies are violations.
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode === 401) await limits.take('auth_failures', [addressOf(req)]);
    const who = req.principal;
    if (violations && who?.kind === 'agent' && (reply.statusCode === 400 || reply.statusCode === 403 || reply.statusCode === 413)) {
      violations.record([`agent:${who.agentId}`, addressOf(req)], `${req.method} ${req.routeOptions.url ?? req.url}: ${reply.statusCode}`);
    }
  });
}

/** Registered after the auth hook (it reads the caller the auth hook found). */
export function installRequestLimits(app: FastifyInstance, limits: RateLimits): void {
  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.url === undefined) return;
    const config = req.routeOptions.config;
    if (config?.ui === true) return;
    const tier = config?.tier ?? tierOf(config?.action);
    // An exempt caller is not counted at all, not even against its address.
    const caller = req.principal ? subjectOf(req.principal) : null;
    if (caller !== null && limits.factorOf(caller) === 0) return;
    const r = await limits.take(tier, caller === null ? [addressOf(req)] : [caller, addressOf(req)]);
    if (r) refuse(r, `too many ${tier} requests`);
  });
}
