/**
 * Registered agents and their token hashes: a small durable table beside the task store.
 * Each change is one fsync'd write; registration is rare, so it needs no group commit.
 *
 * A write that fails (a full disk) is refused with STORE_DEGRADED, as the task store's are, and
 * the next write first recovers the database (`Kv.recover`: room, then a reopen), since a LevelDB
 * handle whose write failed may lose later writes. Reads go on meanwhile.
 */
import { SwitchyardError } from '../../shared/errors.js';
import { reasonOf } from './group-commit.js';
import type { Kv, KvOp, KvSnapshot } from './kv.js';
import { prefixRange } from './kv.js';
import { openLevelKv } from './level-kv.js';

export interface AgentRecord {
  id: string;
  /** SHA-256 of the agent's token; the token itself is never stored. */
  token_hash: string;
  created_at: number;
  created_by: string;
  description: string;
  /**
   * The operator's preference among agents equally loaded (higher first, default 0): where a
   * task goes when several could take it, a delegated one's fallback included (docs/workflow.md).
   */
  priority?: number;
}

/** What an operator may change on an agent's record. */
export type AgentPatch = Partial<Pick<AgentRecord, 'priority' | 'description'>>;

export interface AgentStore {
  /** `extra`: more puts for the same batch (the change's audit entry). */
  create(record: AgentRecord, extra?: KvOp[]): Promise<AgentRecord>;
  get(id: string): Promise<AgentRecord | undefined>;
  list(): Promise<AgentRecord[]>;
  delete(id: string, extra?: KvOp[]): Promise<void>;
  /** Changes the record in one write; AGENT_NOT_FOUND when there is none. */
  update(id: string, patch: AgentPatch, extra?: KvOp[]): Promise<AgentRecord>;
  /** The whole agents database (agents, join tokens, what later issues keep here) as it is now, for a backup. */
  snapshot?(): KvSnapshot;
  close(): Promise<void>;
}

/** The key of an agent's record (join-store.ts writes it too, in the batch that redeems a join token). */
export const agentKey = (id: string) => `g!${id}`;
const key = agentKey;

/** Opens (creating it unless `mustExist`) the agent store in `location`. */
export async function openAgentStore(location: string, options: { mustExist?: boolean } = {}): Promise<AgentStore> {
  return new LevelAgentStore(await openLevelKv(location, options));
}

export class LevelAgentStore implements AgentStore {
  /** Serialises check-then-write so two registrations of one id cannot both succeed. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Set by a failed write: the database must be recovered before the next one. */
  private broken = false;

  /** `kv` and `serial` are shared with join-store.ts, whose join tokens live in this database. */
  constructor(readonly kv: Kv) {}

  serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** One fsync'd write (called inside `serial`); STORE_DEGRADED when the disk does not take it. */
  async write(ops: KvOp[]): Promise<void> {
    try {
      if (this.broken) await this.kv.recover?.();
      this.broken = false;
      await this.kv.write(ops, true);
    } catch (err) {
      this.broken = true;
      const reason = reasonOf(err);
      throw new SwitchyardError(
        'STORE_DEGRADED',
        `the agent store takes no writes for now (${reason}: ${(err as Error).message}); nothing was written, send it again later`,
        { reason, since: Date.now(), needs_ack: false, retry_after_ms: 1000 },
        { cause: err },
      );
    }
  }

  create(record: AgentRecord, extra: KvOp[] = []): Promise<AgentRecord> {
    return this.serial(async () => {
      if ((await this.kv.get(key(record.id))) !== undefined) {
        throw new SwitchyardError('AGENT_EXISTS', `agent ${record.id} is already registered; remove it first to issue a new token`);
      }
      await this.write([{ type: 'put', key: key(record.id), value: JSON.stringify(record) }, ...extra]);
      return record;
    });
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    const raw = await this.kv.get(key(id));
    return raw === undefined ? undefined : (JSON.parse(raw) as AgentRecord);
  }

  async list(): Promise<AgentRecord[]> {
    const out: AgentRecord[] = [];
    for await (const entries of this.kv.entries(prefixRange('g!'))) {
      for (const [, raw] of entries) out.push(JSON.parse(raw) as AgentRecord);
    }
    return out;
  }

  update(id: string, patch: AgentPatch, extra: KvOp[] = []): Promise<AgentRecord> {
    return this.serial(async () => {
      const raw = await this.kv.get(key(id));
      if (raw === undefined) throw new SwitchyardError('AGENT_NOT_FOUND', `no agent ${id}`);
      const record: AgentRecord = { ...(JSON.parse(raw) as AgentRecord), ...patch };
      await this.write([{ type: 'put', key: key(id), value: JSON.stringify(record) }, ...extra]);
      return record;
    });
  }

  delete(id: string, extra: KvOp[] = []): Promise<void> {
    return this.serial(async () => {
      if ((await this.kv.get(key(id))) === undefined) throw new SwitchyardError('AGENT_NOT_FOUND', `no agent ${id}`);
      await this.write([{ type: 'del', key: key(id) }, ...extra]);
    });
  }

  snapshot(): KvSnapshot {
    return this.kv.snapshot();
  }

  close(): Promise<void> {
    return this.kv.close();
  }
}
