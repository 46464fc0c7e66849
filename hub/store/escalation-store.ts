/**
 * Escalations, durable (docs/workflow.md, "Escalations"): what needs a person, open until
 * resolved, then kept as history. They live in the agent store's database (key space `es!`,
 * beside `al!` alerts, `g!` agents, `j!` join tokens) and write on its serial path, each change
 * one fsync'd batch: they change a few times a minute at most. Keys: `es!<escalation id>` ->
 * Escalation (JSON); ids are time-ordered, so the key order is the creation order.
 */
import type { Escalation } from '../../shared/workflow.js';
import { LevelAgentStore, type AgentStore } from './agent-store.js';
import { prefixRange, type KvOp } from './kv.js';

const PREFIX = 'es!';
const key = (id: string) => `${PREFIX}${id}`;

export interface EscalationStore {
  /** Every stored escalation, oldest first. */
  load(): Promise<Escalation[]>;
  /** Writes `put` and deletes `drop` in one durable batch. */
  write(put: readonly Escalation[], drop?: readonly string[]): Promise<void>;
}

/** The escalation store in an agent store's database; in memory for any other agent store. */
export function escalationStoreOf(agents: AgentStore): EscalationStore {
  return agents instanceof LevelAgentStore ? new KvEscalationStore(agents) : new MemoryEscalationStore();
}

class KvEscalationStore implements EscalationStore {
  constructor(private readonly agents: LevelAgentStore) {}

  async load(): Promise<Escalation[]> {
    const out: Escalation[] = [];
    for await (const entries of this.agents.kv.entries(prefixRange(PREFIX))) {
      for (const [, raw] of entries) out.push(JSON.parse(raw) as Escalation);
    }
    return out;
  }

  write(put: readonly Escalation[], drop: readonly string[] = []): Promise<void> {
    const ops: KvOp[] = [...put.map((e): KvOp => ({ type: 'put', key: key(e.id), value: JSON.stringify(e) })), ...drop.map((id): KvOp => ({ type: 'del', key: key(id) }))];
    if (ops.length === 0) return Promise.resolve();
    return this.agents.serial(() => this.agents.kv.write(ops, true));
  }
}

class MemoryEscalationStore implements EscalationStore {
  private readonly items = new Map<string, Escalation>();

  load(): Promise<Escalation[]> {
    return Promise.resolve([...this.items.values()].sort((a, b) => (a.id < b.id ? -1 : 1)));
  }

  write(put: readonly Escalation[], drop: readonly string[] = []): Promise<void> {
    for (const e of put) this.items.set(e.id, e);
    for (const id of drop) this.items.delete(id);
    return Promise.resolve();
  }
}
