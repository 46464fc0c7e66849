/**
 * Push subscriptions: the browsers (one per operator and device) that receive the hub's alerts.
 * Durable, in the agent store's LevelDB (key space `ps!`, beside `g!` agents and `j!` join
 * tokens), so they survive restarts and are in the hub's backups with the rest of that database.
 *
 * Keys: `ps!<id>` -> PushSubscriptionRecord, where id is the first 16 hex digits of the SHA-256
 * of the endpoint: a browser subscribes the same endpoint again (a reload, a second click) and
 * gets the same record back, updated, never a duplicate that would notify it twice.
 * Each change is one fsync'd write on the agent store's serial path.
 */
import { createHash } from 'node:crypto';
import { SwitchyardError } from '../../shared/errors.js';
import { LevelAgentStore, type AgentStore } from './agent-store.js';
import { prefixRange } from './kv.js';

export interface PushSubscriptionRecord {
  id: string;
  /** The push service's URL for this browser (a capability: whoever has it can push to it). */
  endpoint: string;
  /** The browser's ECDH public key (p256dh) and auth secret, base64url (RFC 8291). */
  keys: { p256dh: string; auth: string };
  /** Alert rules or severities to receive; [] = every alert. */
  kinds: string[];
  label: string;
  created_at: number;
  last_sent_at: number | null;
  /** Sends that failed for good since the last one that succeeded. */
  failures: number;
}

export const pushSubscriptionIdOf = (endpoint: string): string => createHash('sha256').update(endpoint).digest('hex').slice(0, 16);
const key = (id: string) => `ps!${id}`;

export interface PushStore {
  /** Stores a subscription, or updates the one with the same endpoint (keeping its created_at). */
  put(record: Omit<PushSubscriptionRecord, 'id' | 'created_at' | 'last_sent_at' | 'failures'>, now: number): Promise<{ record: PushSubscriptionRecord; created: boolean }>;
  get(id: string): Promise<PushSubscriptionRecord | undefined>;
  list(): Promise<PushSubscriptionRecord[]>;
  /** Removes one; false when it was not there (already pruned: harmless). */
  delete(id: string): Promise<boolean>;
  /** A send's outcome: resets failures on success, counts one on a final failure. */
  recordOutcome(id: string, ok: boolean, now: number): Promise<void>;
}

/** The push store kept in an agent store's database. */
export function pushStoreOf(agents: AgentStore): PushStore {
  if (!(agents instanceof LevelAgentStore)) throw new SwitchyardError('INTERNAL', 'push subscriptions need the LevelDB agent store');
  return new LevelPushStore(agents);
}

class LevelPushStore implements PushStore {
  constructor(private readonly agents: LevelAgentStore) {}

  private async read(id: string): Promise<PushSubscriptionRecord | undefined> {
    const raw = await this.agents.kv.get(key(id));
    return raw === undefined ? undefined : (JSON.parse(raw) as PushSubscriptionRecord);
  }

  private write(record: PushSubscriptionRecord): Promise<void> {
    return this.agents.kv.write([{ type: 'put', key: key(record.id), value: JSON.stringify(record) }], true);
  }

  put(input: Omit<PushSubscriptionRecord, 'id' | 'created_at' | 'last_sent_at' | 'failures'>, now: number) {
    return this.agents.serial(async () => {
      const id = pushSubscriptionIdOf(input.endpoint);
      const old = await this.read(id);
      const record: PushSubscriptionRecord = old
        ? { ...old, keys: input.keys, kinds: input.kinds, label: input.label, failures: 0 }
        : { id, ...input, created_at: now, last_sent_at: null, failures: 0 };
      await this.write(record);
      return { record, created: !old };
    });
  }

  get(id: string): Promise<PushSubscriptionRecord | undefined> {
    return this.read(id);
  }

  async list(): Promise<PushSubscriptionRecord[]> {
    const out: PushSubscriptionRecord[] = [];
    for await (const entries of this.agents.kv.entries(prefixRange('ps!'))) for (const [, raw] of entries) out.push(JSON.parse(raw) as PushSubscriptionRecord);
    return out.sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id));
  }

  delete(id: string): Promise<boolean> {
    return this.agents.serial(async () => {
      if ((await this.read(id)) === undefined) return false;
      await this.agents.kv.write([{ type: 'del', key: key(id) }], true);
      return true;
    });
  }

  recordOutcome(id: string, ok: boolean, now: number): Promise<void> {
    return this.agents.serial(async () => {
      const r = await this.read(id);
      // Pruned or unsubscribed meanwhile: nothing to record, and nothing to bring back.
      if (!r) return;
      await this.write(ok ? { ...r, last_sent_at: now, failures: 0 } : { ...r, failures: r.failures + 1 });
    });
  }
}
