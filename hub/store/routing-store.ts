/**
 * The routing policy an operator set over REST (docs/routing.md): one `rt!policy` record in the
 * agents database (record-store.ts), so it outlives restarts and travels with a backup; each set
 * or reset one fsync'd write with its audit entry. Read back as stored: the policy service checks it.
 */
import type { RoutingPolicy } from '../../shared/routing.js';
import type { AgentStore } from './agent-store.js';
import type { KvOp } from './kv.js';
import { levelAgentStore, RecordStore } from './record-store.js';

const POLICY_ID = 'policy';

export class RoutingStore {
  constructor(private readonly records: RecordStore<unknown>) {}

  get(): Promise<unknown> {
    return this.records.get(POLICY_ID);
  }

  async put(policy: RoutingPolicy, extra: KvOp[] = []): Promise<void> {
    await this.records.put(POLICY_ID, policy, extra);
  }

  /** True when there was one to remove. */
  remove(extra: KvOp[] = []): Promise<boolean> {
    return this.records.remove(POLICY_ID, extra);
  }
}

export function routingStoreOf(agents: AgentStore): RoutingStore {
  return new RoutingStore(new RecordStore<unknown>(levelAgentStore(agents, 'routing policies'), 'rt!'));
}
