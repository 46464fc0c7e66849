/**
 * The routing policy an operator set over REST (docs/routing.md), one `rt!policy` key in the
 * agents database: it outlives restarts and travels with a backup. One fsync'd write, with its
 * audit entry in the same batch.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { RoutingPolicy } from '../../shared/routing.js';
import { LevelAgentStore, type AgentStore } from './agent-store.js';
import type { KvOp } from './kv.js';

const POLICY_KEY = 'rt!policy';

export class RoutingStore {
  constructor(private readonly db: LevelAgentStore) {}

  async get(): Promise<unknown> {
    const raw = await this.db.kv.get(POLICY_KEY);
    return raw === undefined ? undefined : (JSON.parse(raw) as unknown);
  }

  put(policy: RoutingPolicy, extra: KvOp[] = []): Promise<void> {
    return this.db.serial(() => this.db.write([{ type: 'put', key: POLICY_KEY, value: JSON.stringify(policy) }, ...extra]));
  }

  /** True when there was one to remove. */
  remove(extra: KvOp[] = []): Promise<boolean> {
    return this.db.serial(async () => {
      if ((await this.db.kv.get(POLICY_KEY)) === undefined) return false;
      await this.db.write([{ type: 'del', key: POLICY_KEY }, ...extra]);
      return true;
    });
  }
}

export function routingStoreOf(agents: AgentStore): RoutingStore {
  if (!(agents instanceof LevelAgentStore)) throw new SwitchyardError('INTERNAL', 'the routing policy needs the LevelDB agent store');
  return new RoutingStore(agents);
}
