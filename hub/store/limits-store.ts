/**
 * Rate-limit overrides (docs/security.md) in the agents database, `lm!<subject>` keys
 * (record-store.ts): they persist across restarts and travel with a backup.
 */
import type { LimitOverride } from '../../shared/limits.js';
import type { AgentStore } from './agent-store.js';
import type { KvOp } from './kv.js';
import { levelAgentStore, RecordStore } from './record-store.js';

export class LimitsStore {
  constructor(private readonly records: RecordStore<LimitOverride>) {}

  list(): Promise<LimitOverride[]> {
    return this.records.list();
  }

  put(o: LimitOverride, extra: KvOp[] = []): Promise<LimitOverride> {
    return this.records.put(o.subject, o, extra);
  }

  /** True when there was one to remove. */
  remove(subject: string, extra: KvOp[] = []): Promise<boolean> {
    return this.records.remove(subject, extra);
  }
}

export function limitsStoreOf(agents: AgentStore): LimitsStore {
  return new LimitsStore(new RecordStore(levelAgentStore(agents, 'rate-limit overrides'), 'lm!'));
}
