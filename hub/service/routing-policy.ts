/**
 * The routing policy as operators see and set it (docs/routing.md): the default, a file named by
 * SWITCHYARD_ROUTING_POLICY (read at start; a bad one stops the hub), or one set over REST, which
 * wins over both and persists. Every change reaches the router and the bus (`routing.changed`).
 */
import type { RoutingPolicy, RoutingPolicyView } from '../../shared/routing.js';
import { DEFAULT_POLICY, validatePolicy } from '../routing/policy.js';
import type { Router } from '../routing/router.js';
import type { RoutingStore } from '../store/routing-store.js';
import { Access, type Principal } from './access.js';
import type { AuditService } from './audit.js';
import type { HubBus } from './bus.js';

export class RoutingPolicyService {
  private current: RoutingPolicyView = { policy: validatePolicy(DEFAULT_POLICY), source: 'default' };
  /** What a reset goes back to: the file's policy, or the default. */
  private base: RoutingPolicyView = this.current;

  constructor(
    private readonly router: Router,
    private readonly store: RoutingStore,
    private readonly bus: HubBus,
    private readonly audit?: AuditService,
  ) {}

  /** At start: the file's policy (already read, may be undefined), then one set over REST. Throws ROUTING_POLICY_INVALID for a bad file. */
  async load(fromFile: unknown, fileName?: string): Promise<void> {
    if (fromFile !== undefined) this.base = { policy: validatePolicy(fromFile, `routing policy file ${fileName ?? ''}`.trim()), source: 'file' };
    const stored = await this.store.get();
    this.apply(stored !== undefined ? { policy: validatePolicy(stored, 'stored routing policy'), source: 'api' } : this.base);
  }

  view(caller: Principal): RoutingPolicyView {
    Access.authorize(caller, 'routing.read');
    return this.current;
  }

  async set(caller: Principal, body: unknown): Promise<RoutingPolicyView> {
    Access.authorize(caller, 'routing.write');
    const policy = validatePolicy(body);
    await this.store.put(policy, this.audit?.ops(caller, 'routing.policy_set', 'policy', policy.enabled === false ? 'routing off' : 'routing policy set'));
    return this.apply({ policy, source: 'api' });
  }

  async reset(caller: Principal): Promise<RoutingPolicyView> {
    Access.authorize(caller, 'routing.write');
    await this.store.remove(this.audit?.ops(caller, 'routing.policy_reset', 'policy', `back to the ${this.base.source} policy`));
    return this.apply(this.base);
  }

  private apply(view: RoutingPolicyView): RoutingPolicyView {
    this.current = view;
    this.router.setPolicy(view.policy as RoutingPolicy);
    this.bus.emit('routing.changed', { source: view.source });
    return view;
  }
}
