/**
 * Small records of one kind in the agents database under one key prefix (`<prefix><id>`), each
 * change one fsync'd write on its serial path, with whatever else the caller adds to that batch
 * (its audit entry): rate-limit overrides (`lm!`), budgets (`bg!`), the routing policy (`rt!policy`). They persist across restarts
 * and travel with a backup.
 */
import { SwitchyardError } from '../../shared/errors.js';
import { LevelAgentStore, type AgentStore } from './agent-store.js';
import { prefixRange, type KvOp } from './kv.js';

export class RecordStore<T> {
  constructor(
    private readonly db: LevelAgentStore,
    private readonly prefix: string,
  ) {}

  async get(id: string): Promise<T | undefined> {
    const raw = await this.db.kv.get(this.prefix + id);
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  async list(): Promise<T[]> {
    const out: T[] = [];
    for await (const entries of this.db.kv.entries(prefixRange(this.prefix))) for (const [, raw] of entries) out.push(JSON.parse(raw) as T);
    return out;
  }

  put(id: string, record: T, extra: KvOp[] = []): Promise<T> {
    return this.db.serial(async () => {
      await this.db.write([{ type: 'put', key: this.prefix + id, value: JSON.stringify(record) }, ...extra]);
      return record;
    });
  }

  /** True when there was one to remove. */
  remove(id: string, extra: KvOp[] = []): Promise<boolean> {
    return this.db.serial(async () => {
      if ((await this.db.kv.get(this.prefix + id)) === undefined) return false;
      await this.db.write([{ type: 'del', key: this.prefix + id }, ...extra]);
      return true;
    });
  }
}

/** The LevelDB agent store under `agents`, or INTERNAL naming `what` needs it. */
export function levelAgentStore(agents: AgentStore, what: string): LevelAgentStore {
  if (!(agents instanceof LevelAgentStore)) throw new SwitchyardError('INTERNAL', `${what} need the LevelDB agent store`);
  return agents;
}
