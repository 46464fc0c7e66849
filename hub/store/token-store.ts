/**
 * API tokens with a role (docs/security.md): `switchyard token add | list | revoke`. They live in
 * the agent store's database (key space `tk!`) on its serial path, one fsync'd write each, so a
 * backup holds them with the agents and join tokens. Only the SHA-256 of a token is kept.
 *
 * Also here: the admin token's rotation (`ad!rotation`). A hub whose admin token comes from its
 * environment cannot rewrite that; the record says "the token whose hash is `from` was replaced by
 * the one whose hash is `to`", so after a restart with the old value still in the environment the
 * new one stays in force, while an operator who sets a different value in the environment takes
 * over with it (the record no longer applies).
 *
 * Keys: `tk!<id>` -> TokenRecord, `ad!rotation` -> AdminRotation.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { TokenKind } from '../../shared/tokens.js';
import { LevelAgentStore, type AgentStore } from './agent-store.js';
import { prefixRange, type KvOp } from './kv.js';

export interface TokenRecord {
  /** Short public id: the first 16 hex digits of the token's SHA-256. */
  id: string;
  name: string;
  kind: TokenKind;
  /** SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  created_at: number;
  created_by: string;
  /** Null: it does not expire. */
  expires_at: number | null;
  /** Written at most once a minute per token (hub/auth/token-use.ts). */
  last_used_at: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
}

export interface AdminRotation {
  /** SHA-256 of the admin token that was replaced. */
  from: string;
  /** SHA-256 of the admin token in force. */
  to: string;
  at: number;
  by: string;
}

const tokenKey = (id: string) => `tk!${id}`;
const ROTATION = 'ad!rotation';

export class TokenStore {
  constructor(private readonly db: LevelAgentStore) {}

  async list(): Promise<TokenRecord[]> {
    const out: TokenRecord[] = [];
    for await (const entries of this.db.kv.entries(prefixRange('tk!'))) {
      for (const [, raw] of entries) out.push(JSON.parse(raw) as TokenRecord);
    }
    return out.sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    const raw = await this.db.kv.get(tokenKey(id));
    return raw === undefined ? undefined : (JSON.parse(raw) as TokenRecord);
  }

  create(record: TokenRecord, extra: KvOp[] = []): Promise<TokenRecord> {
    return this.db.serial(async () => {
      if ((await this.db.kv.get(tokenKey(record.id))) !== undefined) throw new SwitchyardError('TOKEN_EXISTS', `a token with id ${record.id} exists`);
      for (const t of await this.list()) {
        if (t.name === record.name && t.revoked_at === null) {
          throw new SwitchyardError('TOKEN_EXISTS', `a live token is already named '${record.name}': revoke it first (switchyard token revoke ${t.id}) or pick another name`);
        }
      }
      await this.db.write([{ type: 'put', key: tokenKey(record.id), value: JSON.stringify(record) }, ...extra]);
      return record;
    });
  }

  /** Marks the token revoked (the record stays, for the audit); TOKEN_NOT_FOUND when there is none. */
  revoke(id: string, by: string, at: number, extra: KvOp[] = []): Promise<TokenRecord> {
    return this.db.serial(async () => {
      const raw = await this.db.kv.get(tokenKey(id));
      if (raw === undefined) throw new SwitchyardError('TOKEN_NOT_FOUND', `no token ${id}: see switchyard token list`);
      const record = JSON.parse(raw) as TokenRecord;
      if (record.revoked_at !== null) return record;
      const revoked = { ...record, revoked_at: at, revoked_by: by };
      await this.db.write([{ type: 'put', key: tokenKey(id), value: JSON.stringify(revoked) }, ...extra]);
      return revoked;
    });
  }

  /** Records last uses in one write (tokens revoked or removed since are left as they are). */
  noteUse(uses: ReadonlyMap<string, number>): Promise<void> {
    return this.db.serial(async () => {
      const ops = [];
      for (const [id, at] of uses) {
        const raw = await this.db.kv.get(tokenKey(id));
        if (raw === undefined) continue;
        const record = JSON.parse(raw) as TokenRecord;
        if ((record.last_used_at ?? 0) >= at) continue;
        ops.push({ type: 'put' as const, key: tokenKey(id), value: JSON.stringify({ ...record, last_used_at: at }) });
      }
      if (ops.length > 0) await this.db.write(ops);
    });
  }

  async rotation(): Promise<AdminRotation | null> {
    const raw = await this.db.kv.get(ROTATION);
    return raw === undefined ? null : (JSON.parse(raw) as AdminRotation);
  }

  setRotation(rotation: AdminRotation, extra: KvOp[] = []): Promise<void> {
    return this.db.serial(() => this.db.write([{ type: 'put', key: ROTATION, value: JSON.stringify(rotation) }, ...extra]));
  }

  clearRotation(): Promise<void> {
    return this.db.serial(() => this.db.write([{ type: 'del', key: ROTATION }]));
  }
}

export function tokenStoreOf(agents: AgentStore): TokenStore {
  if (!(agents instanceof LevelAgentStore)) throw new SwitchyardError('INTERNAL', 'API tokens need the LevelDB agent store');
  return new TokenStore(agents);
}
