/**
 * Rate-limit overrides (docs/security.md) in the agents database, `lm!<subject>` keys, one
 * fsync'd write each on its serial path: they persist across restarts and travel with a backup.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { LimitOverride } from '../../shared/limits.js';
import { LevelAgentStore, type AgentStore } from './agent-store.js';
import { prefixRange, type KvOp } from './kv.js';

const key = (subject: string) => `lm!${subject}`;

export class LimitsStore {
  constructor(private readonly db: LevelAgentStore) {}

  async list(): Promise<LimitOverride[]> {
    const out: LimitOverride[] = [];
    for await (const entries of this.db.kv.entries(prefixRange('lm!'))) for (const [, raw] of entries) out.push(JSON.parse(raw) as LimitOverride);
    return out;
  }

  put(o: LimitOverride, extra: KvOp[] = []): Promise<LimitOverride> {
    return this.db.serial(async () => {
      await this.db.write([{ type: 'put', key: key(o.subject), value: JSON.stringify(o) }, ...extra]);
      return o;
    });
  }

  /** True when there was one to remove. */
  remove(subject: string, extra: KvOp[] = []): Promise<boolean> {
    return this.db.serial(async () => {
      if ((await this.db.kv.get(key(subject))) === undefined) return false;
      await this.db.write([{ type: 'del', key: key(subject) }, ...extra]);
      return true;
    });
  }
}

export function limitsStoreOf(agents: AgentStore): LimitsStore {
  if (!(agents instanceof LevelAgentStore)) throw new SwitchyardError('INTERNAL', 'rate-limit overrides need the LevelDB agent store');
  return new LimitsStore(agents);
}
