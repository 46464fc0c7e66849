/**
 * Who may do what, for every operator surface (REST, the live feed, the CLI's in-process calls;
 * later MCP and ChatOps): the caller is authenticated by its token, then each action is checked
 * against one table. Today every action is the operator's (the admin token); an agent's token
 * only connects its sidecar (/v1/agent authenticates by the hello, hub/gateway), so a leaked
 * sidecar token cannot manage the fleet.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Authenticator, Principal } from '../auth/authenticator.js';

export type { Principal };

/** What a caller may ask the hub to do. */
export const ACTIONS = {
  'tasks.read': ['admin'],
  'tasks.write': ['admin'],
  'tasks.review': ['admin'],
  'agents.read': ['admin'],
  'agents.write': ['admin'],
  'events.read': ['admin'],
  'feed.read': ['admin'],
  'backups.read': ['admin'],
  'backups.write': ['admin'],
  'health.ack': ['admin'],
  'alerts.read': ['admin'],
  'alerts.write': ['admin'],
  'metrics.read': ['admin'],
  'push.read': ['admin'],
  'push.write': ['admin'],
  // The review workflow (docs/workflow.md): an agent's own lease; the operator's decisions.
  'tasks.ask': ['agent'],
  'tasks.submit': ['agent'],
  'tasks.answer': ['admin'],
  'escalations.read': ['admin'],
  'escalations.write': ['admin'],
  // Project history and MCP (docs/context.md, docs/mcp.md): each MCP tool checks its own scope (hub/mcp/scopes.ts).
  'history.read': ['admin', 'agent'],
  'mcp.use': ['admin', 'agent'],
  'tasks.claim': ['agent'],
} as const satisfies Record<string, ReadonlyArray<Principal['kind']>>;

export type Action = keyof typeof ACTIONS;

/** The operator, as in-process callers (the CLI's `up`) act: the same actor as the admin token. */
export const OPERATOR: Principal = { kind: 'admin', actor: 'admin' };

export class Access {
  constructor(private readonly auth: Authenticator) {}

  /** The caller a bearer token names, or UNAUTHORIZED. */
  authenticate(token: string | null): Principal {
    const who = this.auth.identify(token);
    if (!who) {
      throw new SwitchyardError(
        'UNAUTHORIZED',
        token ? 'the token is not valid for this hub' : 'missing bearer token: send Authorization: Bearer <admin token>',
      );
    }
    return who;
  }

  /** Throws FORBIDDEN unless `caller` may do `action`. */
  static authorize(caller: Principal, action: Action): void {
    if ((ACTIONS[action] as ReadonlyArray<Principal['kind']>).includes(caller.kind)) return;
    throw new SwitchyardError('FORBIDDEN', 'agent tokens may only connect sidecars; use the admin token', { action });
  }
}
