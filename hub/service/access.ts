/**
 * Who may do what, for every operator surface (REST, the live feed, MCP, the CLI's in-process
 * calls): the caller is authenticated by its token, then each action is checked against ONE
 * table — action -> the roles that may do it (docs/security.md). Every REST route names its
 * action (hub/api/auth-hook.ts refuses to start with one that does not), every MCP tool its scope
 * (hub/mcp/scopes.ts maps scopes to these roles), and tests/hub/scopes.test.ts walks every route
 * with every role. An agent's token only speaks for its own agent: the sidecar protocol, and the
 * worker tools on its own leases.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Role } from '../../shared/tokens.js';
import type { Authenticator, Principal, Revoked } from '../auth/authenticator.js';

export type { Principal };

const READ = ['admin', 'operator', 'viewer'] as const;
const STEER = ['admin', 'operator'] as const;
const ADMIN = ['admin'] as const;

/** What a caller may ask the hub to do, and who may. */
export const ACTIONS = {
  'tasks.read': READ,
  'tasks.write': STEER,
  'tasks.review': STEER,
  'agents.read': READ,
  'agents.write': ADMIN,
  'events.read': READ,
  'feed.read': READ,
  'backups.read': READ,
  'backups.write': ADMIN,
  'health.ack': ADMIN,
  'alerts.read': READ,
  'alerts.write': STEER,
  'metrics.read': ['admin', 'operator', 'viewer', 'metrics'],
  'push.read': READ,
  'push.write': STEER,
  'tokens.read': ADMIN,
  'tokens.write': ADMIN,
  'limits.read': READ,
  'audit.read': STEER,
  'limits.write': ADMIN,
  // The repo registry (docs/repos.md); sidecars read it with their own token (GET /v1/agent/repos).
  'repos.read': READ,
  'repos.write': STEER,
  // Usage and budgets (docs/usage.md).
  'usage.read': READ,
  'budgets.read': READ,
  'budgets.write': STEER,
  // The review workflow (docs/workflow.md): an agent's own lease; the operator's decisions.
  'tasks.ask': ['agent'],
  'tasks.submit': ['agent'],
  'tasks.answer': STEER,
  'escalations.read': READ,
  'escalations.write': STEER,
  // Project history and MCP (docs/context.md, docs/mcp.md): each MCP tool checks its own scope (hub/mcp/scopes.ts).
  'history.read': ['admin', 'operator', 'viewer', 'agent'],
  'mcp.use': ['admin', 'operator', 'agent'],
  'tasks.claim': ['agent'],
  // Routing (docs/routing.md): the policy is the fleet's, so only an admin changes it.
  'routing.read': READ,
  'routing.write': ADMIN,
} as const satisfies Record<string, ReadonlyArray<Role>>;

export type Action = keyof typeof ACTIONS;

/** The operator, as in-process callers (the CLI's `up`) act: the same actor as the admin token. */
export const OPERATOR: Principal = { kind: 'admin', actor: 'admin' };

export class Access {
  constructor(private readonly auth: Authenticator) {}

  /** Tells `listener` when a token stops working (revoked, or the admin token rotated); returns the unsubscribe. */
  onRevoked(listener: (revoked: Revoked) => void): () => void {
    this.auth.on('revoked', listener);
    return () => this.auth.off('revoked', listener);
  }

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

  /** Throws FORBIDDEN, naming what is needed, unless `caller` may do `action`. */
  static authorize(caller: Principal, action: Action): void {
    const roles = ACTIONS[action] as ReadonlyArray<Role>;
    if (roles.includes(caller.kind)) return;
    const hint = caller.kind === 'agent' ? 'agent tokens may only connect sidecars and use the MCP worker tools' : `${caller.kind === 'admin' || caller.kind === 'operator' ? 'an' : 'a'} ${caller.kind} token may not`;
    throw new SwitchyardError('FORBIDDEN', `${hint} ${caller.kind === 'agent' ? `(${action} needs` : `do ${action}: it needs`} a token of role ${roles.join(' or ')}${caller.kind === 'agent' ? ')' : ''}`, { action, roles: [...roles] });
  }
}
