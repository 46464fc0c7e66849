/**
 * The hub's audit entries for changes that are not task changes (those are the task events):
 * `au!<ms, 15 digits>-<seq>` keys in the agents database. A change stored in that database
 * (an agent, a token, a limit, a join token) writes its entry in the same batch (`op`); others
 * append theirs right after the change.
 */
import type { AuditEntry } from '../../shared/audit.js';
import { SwitchyardError } from '../../shared/errors.js';
import { LevelAgentStore, type AgentStore } from './agent-store.js';
import type { KvOp } from './kv.js';

const PREFIX = 'au!';
const keyOf = (at: number, seq: number) => `${PREFIX}${String(at).padStart(15, '0')}-${String(seq).padStart(6, '0')}`;

export class AuditStore {
  private seq = 0;

  constructor(private readonly db: LevelAgentStore) {}

  /** The put of an entry, for a batch that makes the change it records. */
  op(entry: AuditEntry): KvOp {
    this.seq = (this.seq + 1) % 1_000_000;
    return { type: 'put', key: keyOf(entry.at, this.seq), value: JSON.stringify(entry) };
  }

  append(entry: AuditEntry): Promise<void> {
    return this.db.serial(() => this.db.write([this.op(entry)]));
  }

  /** Entries in [since, until), oldest first, at most `max` read. */
  async range(since: number, until: number, max: number): Promise<{ entries: AuditEntry[]; truncated: boolean }> {
    const entries: AuditEntry[] = [];
    for await (const batch of this.db.kv.entries({ gte: keyOf(since, 0), lt: keyOf(until, 0) })) {
      for (const [, raw] of batch) {
        if (entries.length >= max) return { entries, truncated: true };
        entries.push(JSON.parse(raw) as AuditEntry);
      }
    }
    return { entries, truncated: false };
  }
}

export function auditStoreOf(agents: AgentStore): AuditStore {
  if (!(agents instanceof LevelAgentStore)) throw new SwitchyardError('INTERNAL', 'the audit log needs the LevelDB agent store');
  return new AuditStore(agents);
}
