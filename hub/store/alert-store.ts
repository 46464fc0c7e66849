/**
 * Alerts, durable: active, acknowledged and a bounded history of cleared ones, so that a restart
 * neither fires again what was firing (nor what is cooling down) nor forgets an acknowledgement.
 *
 * They live in the agent store's database (key space `al!`; `g!` is agents', `j!` join tokens')
 * and write on its serial path: each change is one fsync'd batch. Alerts change a few times a
 * minute at most, so they need no group commit. Keys: `al!<alert id>` -> Alert (JSON).
 */
import type { Alert } from '../../shared/alerts.js';
import { LevelAgentStore, type AgentStore } from './agent-store.js';
import { prefixRange, type KvOp } from './kv.js';

const PREFIX = 'al!';
const key = (id: string) => `${PREFIX}${id}`;

export interface AlertStore {
  /** Every stored alert. */
  load(): Promise<Alert[]>;
  /** Writes `put` and deletes `drop` in one durable batch. */
  write(put: readonly Alert[], drop: readonly string[]): Promise<void>;
}

/** The alert store in an agent store's database; in memory for any other agent store (tests of other backends). */
export function alertStoreOf(agents: AgentStore): AlertStore {
  return agents instanceof LevelAgentStore ? new KvAlertStore(agents) : new MemoryAlertStore();
}

class KvAlertStore implements AlertStore {
  constructor(private readonly agents: LevelAgentStore) {}

  async load(): Promise<Alert[]> {
    const out: Alert[] = [];
    for await (const entries of this.agents.kv.entries(prefixRange(PREFIX))) {
      for (const [, raw] of entries) out.push(JSON.parse(raw) as Alert);
    }
    return out;
  }

  write(put: readonly Alert[], drop: readonly string[]): Promise<void> {
    const ops: KvOp[] = [...put.map((a): KvOp => ({ type: 'put', key: key(a.id), value: JSON.stringify(a) })), ...drop.map((id): KvOp => ({ type: 'del', key: key(id) }))];
    if (ops.length === 0) return Promise.resolve();
    return this.agents.serial(() => this.agents.kv.write(ops, true));
  }
}

class MemoryAlertStore implements AlertStore {
  private readonly alerts = new Map<string, Alert>();

  load(): Promise<Alert[]> {
    return Promise.resolve([...this.alerts.values()]);
  }

  write(put: readonly Alert[], drop: readonly string[]): Promise<void> {
    for (const a of put) this.alerts.set(a.id, a);
    for (const id of drop) this.alerts.delete(id);
    return Promise.resolve();
  }
}
