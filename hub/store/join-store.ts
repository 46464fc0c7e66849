/**
 * Join tokens: one-time invitations that let a new agent host register itself
 * (`switchyard agent invite` on the hub side, `switchyard onboard` on the host).
 *
 * They live in the agent store's database (key space `j!`) and run on its serial path, so that
 * redeeming one is a single fsync'd batch that writes both the new agent's record and the spent
 * invitation: after a crash either both are on disk or neither is, and a registration of the
 * same id through `POST /v1/agents` cannot slip in between the check and the write.
 *
 * Only hashes are kept: of the join token, and of the exchange key the redeeming host chose.
 * The exchange key makes a redemption repeatable by the host that made it, and by nobody else:
 * a host that crashed after the hub registered it but before it stored the agent token sends the
 * same join token, name and exchange key again and gets a fresh token for the same agent (the
 * old one, never stored, stops working). Someone who only has the join token gets JOIN_TOKEN_USED.
 *
 * Keys: `j!<id>` -> JoinRecord, where id is the first 16 hex digits of the token's SHA-256 (the
 * full hash is compared, in constant time); `g!<agent>` -> AgentRecord (agent-store.ts).
 */
import { SwitchyardError } from '../../shared/errors.js';
import { hashToken, tokenMatches } from '../auth/tokens.js';
import { agentKey, LevelAgentStore, type AgentRecord, type AgentStore } from './agent-store.js';
import { prefixRange } from './kv.js';

export interface JoinRecord {
  /** Short public id (for listing and revoking); derived from the token's hash. */
  id: string;
  /** SHA-256 of the join token; the token itself is never stored. */
  token_hash: string;
  /** The agent name the invitation is for; null lets the host choose. */
  name: string | null;
  /** Capabilities the host is to offer (beyond what its preflight finds). */
  capabilities: string[];
  description: string;
  created_at: number;
  created_by: string;
  expires_at: number;
  revoked_at: number | null;
  used_at: number | null;
  /** The agent it registered. */
  agent_id: string | null;
  /** SHA-256 of the redeeming host's exchange key. */
  exchange_key_hash: string | null;
  /** How many times the redeeming host repeated its exchange (a resumed onboarding). */
  reissued: number;
}

export type JoinStatus = 'pending' | 'used' | 'expired' | 'revoked';

export function joinStatus(j: JoinRecord, now: number): JoinStatus {
  if (j.revoked_at !== null) return 'revoked';
  if (j.used_at !== null) return 'used';
  return now >= j.expires_at ? 'expired' : 'pending';
}

export interface JoinRedemption {
  /** The join token as presented. */
  token: string;
  name: string;
  exchangeKey: string;
  /** Hash of the agent token to register (new) or to reissue (repeat). */
  agentTokenHash: string;
  description: string;
  now: number;
}

export interface JoinStore {
  create(record: JoinRecord): Promise<JoinRecord>;
  get(id: string): Promise<JoinRecord | undefined>;
  list(): Promise<JoinRecord[]>;
  /** Marks an invitation revoked (an unused one can then never be redeemed; a used one no more repeated). */
  revoke(id: string, now: number): Promise<JoinRecord>;
  /**
   * The invitation a token names, checked: unknown, revoked, expired or (unless `exchangeKey`
   * proves the caller redeemed it) used ones throw their JOIN_TOKEN_* code.
   */
  check(token: string, now: number, exchangeKey?: string): Promise<JoinRecord>;
  /**
   * Redeems a join token: registers the agent and spends the invitation in one write; or, for
   * the host that redeemed it (same name and exchange key), reissues that agent's token.
   */
  redeem(r: JoinRedemption): Promise<{ join: JoinRecord; agent: AgentRecord; repeat: boolean; previousTokenHash: string | null }>;
}

export const joinIdOf = (token: string): string => hashToken(token).slice(0, 16);
const key = (id: string) => `j!${id}`;

/** The join store kept in an agent store's database. */
export function joinStoreOf(agents: AgentStore): JoinStore {
  if (!(agents instanceof LevelAgentStore)) {
    throw new SwitchyardError('INTERNAL', 'join tokens need the LevelDB agent store (they are redeemed in the same write as the agent they register)');
  }
  return new LevelJoinStore(agents);
}

class LevelJoinStore implements JoinStore {
  constructor(private readonly agents: LevelAgentStore) {}

  private async read(id: string): Promise<JoinRecord | undefined> {
    const raw = await this.agents.kv.get(key(id));
    return raw === undefined ? undefined : (JSON.parse(raw) as JoinRecord);
  }

  create(record: JoinRecord): Promise<JoinRecord> {
    return this.agents.serial(async () => {
      // 64 bits of a hash of 256 random bits: a clash means a bug, not bad luck.
      if ((await this.read(record.id)) !== undefined) throw new SwitchyardError('INTERNAL', 'join token id clash; try again');
      await this.agents.write([{ type: 'put', key: key(record.id), value: JSON.stringify(record) }]);
      return record;
    });
  }

  get(id: string): Promise<JoinRecord | undefined> {
    return this.read(id);
  }

  async list(): Promise<JoinRecord[]> {
    const out: JoinRecord[] = [];
    for await (const entries of this.agents.kv.entries(prefixRange('j!'))) for (const [, raw] of entries) out.push(JSON.parse(raw) as JoinRecord);
    return out.sort((a, b) => a.created_at - b.created_at);
  }

  revoke(id: string, now: number): Promise<JoinRecord> {
    return this.agents.serial(async () => {
      const j = await this.read(id);
      if (!j) throw new SwitchyardError('NOT_FOUND', `no join token ${id} (see switchyard agent invites)`);
      if (j.revoked_at !== null) return j;
      const revoked = { ...j, revoked_at: now };
      await this.agents.write([{ type: 'put', key: key(id), value: JSON.stringify(revoked) }]);
      return revoked;
    });
  }

  check(token: string, now: number, exchangeKey?: string): Promise<JoinRecord> {
    return this.lookup(token).then((j) => {
      this.usable(j, now, exchangeKey);
      return j;
    });
  }

  /** Throws unless `j` may be redeemed now, or repeated by the holder of `exchangeKey`. */
  private usable(j: JoinRecord, now: number, exchangeKey: string | undefined): 'new' | 'repeat' {
    if (j.revoked_at !== null) {
      throw new SwitchyardError('JOIN_TOKEN_REVOKED', `join token ${j.id} was revoked by the hub's admin: ask them for a new one (switchyard agent invite)`);
    }
    if (j.used_at !== null) {
      if (exchangeKey !== undefined && j.exchange_key_hash !== null && tokenMatches(exchangeKey, j.exchange_key_hash)) return 'repeat';
      throw new SwitchyardError(
        'JOIN_TOKEN_USED',
        `join token ${j.id} already registered agent ${j.agent_id}: a join token registers one agent; ask the hub's admin for a new one (switchyard agent invite)`,
        { agent_id: j.agent_id },
      );
    }
    if (now >= j.expires_at) {
      throw new SwitchyardError(
        'JOIN_TOKEN_EXPIRED',
        `join token ${j.id} expired at ${new Date(j.expires_at).toISOString()}: ask the hub's admin for a new one (switchyard agent invite --ttl 1h)`,
      );
    }
    return 'new';
  }

  private async lookup(token: string): Promise<JoinRecord> {
    const j = token.startsWith('sy_join_') ? await this.read(joinIdOf(token)) : undefined;
    if (!j || !tokenMatches(token, j.token_hash)) {
      throw new SwitchyardError(
        'JOIN_TOKEN_INVALID',
        'this is not a join token of this hub: copy the exact command `switchyard agent invite` printed, or ask the admin for a new invitation',
      );
    }
    return j;
  }

  redeem(r: JoinRedemption): Promise<{ join: JoinRecord; agent: AgentRecord; repeat: boolean; previousTokenHash: string | null }> {
    return this.agents.serial(async () => {
      const j = await this.lookup(r.token);
      const kind = this.usable(j, r.now, r.exchangeKey);
      const existingRaw = await this.agents.kv.get(agentKey(r.name));
      const existing = existingRaw === undefined ? undefined : (JSON.parse(existingRaw) as AgentRecord);
      if (kind === 'repeat') {
        if (j.agent_id !== r.name) {
          throw new SwitchyardError('JOIN_TOKEN_USED', `join token ${j.id} registered agent ${j.agent_id}, not ${r.name}: resume with the name in the onboarding state file`, { agent_id: j.agent_id });
        }
        if (!existing) {
          throw new SwitchyardError('JOIN_TOKEN_USED', `agent ${r.name}, which join token ${j.id} registered, has been removed since: ask the hub's admin for a new invitation`, { agent_id: j.agent_id });
        }
        const agent: AgentRecord = { ...existing, token_hash: r.agentTokenHash };
        const join: JoinRecord = { ...j, reissued: j.reissued + 1 };
        await this.agents.write(
          [
            { type: 'put', key: agentKey(r.name), value: JSON.stringify(agent) },
            { type: 'put', key: key(j.id), value: JSON.stringify(join) },
          ],
        );
        return { join, agent, repeat: true, previousTokenHash: existing.token_hash };
      }
      if (j.name !== null && j.name !== r.name) {
        throw new SwitchyardError('VALIDATION_FAILED', `join token ${j.id} is for an agent named ${j.name}, not ${r.name}: leave out --name, or pass --name ${j.name}`);
      }
      if (existing) {
        throw new SwitchyardError('AGENT_EXISTS', `an agent named ${r.name} is already registered at this hub: pick another with --name, or leave --name out to get a free name`);
      }
      const agent: AgentRecord = { id: r.name, token_hash: r.agentTokenHash, created_at: r.now, created_by: `join:${j.id}`, description: r.description || j.description };
      const join: JoinRecord = { ...j, used_at: r.now, agent_id: r.name, exchange_key_hash: hashToken(r.exchangeKey) };
      await this.agents.write(
        [
          { type: 'put', key: agentKey(r.name), value: JSON.stringify(agent) },
          { type: 'put', key: key(j.id), value: JSON.stringify(join) },
        ],
      );
      return { join, agent, repeat: false, previousTokenHash: null };
    });
  }
}
