/**
 * Who is calling: the admin token, an API token with a role (operator, viewer, metrics, or more
 * admins: `switchyard token add`), or an agent's token. Hashes only are kept; a presented token
 * is hashed and looked up, and the admin hash compared in constant time. A revoked or expired
 * API token is refused from the moment it is, and listeners (the feed) are told, so connections
 * opened with it are closed too. What each caller may do is hub/service/access.ts's table.
 */
import { EventEmitter } from 'node:events';
import type { AgentStore } from '../store/agent-store.js';
import type { TokenRecord } from '../store/token-store.js';
import { hashToken, tokenMatches } from './tokens.js';

export type Principal =
  | { kind: 'admin'; actor: string; tokenId?: string }
  | { kind: 'operator' | 'viewer' | 'metrics'; actor: string; tokenId: string }
  | { kind: 'agent'; actor: string; agentId: string };

/** Which callers a revocation ends: one API token, or whoever holds the admin token. */
export type Revoked = { tokenId: string } | { admin: true };

/** True when `who` authenticated with what `revoked` ends. */
export function endedBy(who: Principal, revoked: Revoked): boolean {
  if ('admin' in revoked) return who.kind === 'admin' && !('tokenId' in who && who.tokenId);
  return 'tokenId' in who && who.tokenId === revoked.tokenId;
}

export class Authenticator extends EventEmitter<{ revoked: [Revoked] }> {
  /** token hash -> agent id */
  private readonly agentHashes = new Map<string, string>();
  /** token hash -> API token */
  private readonly apiTokens = new Map<string, TokenRecord>();
  /** Last uses not yet written (token id -> when). */
  private readonly uses = new Map<string, number>();

  constructor(
    private adminHash: string,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  async load(agents: AgentStore, tokens: readonly TokenRecord[] = []): Promise<void> {
    for (const a of await agents.list()) this.agentHashes.set(a.token_hash, a.id);
    for (const t of tokens) if (t.revoked_at === null) this.apiTokens.set(t.token_hash, t);
  }

  addAgent(id: string, tokenHash: string): void {
    this.agentHashes.set(tokenHash, id);
  }

  removeAgent(id: string): void {
    for (const [hash, agentId] of this.agentHashes) if (agentId === id) this.agentHashes.delete(hash);
  }

  addToken(record: TokenRecord): void {
    this.apiTokens.set(record.token_hash, record);
  }

  /** The token stops working now; connections it opened are told to close. */
  revokeToken(id: string): void {
    for (const [hash, t] of this.apiTokens) if (t.id === id) this.apiTokens.delete(hash);
    this.uses.delete(id);
    this.emit('revoked', { tokenId: id });
  }

  /** The admin token is now the one hashing to `hash`; the old one stops working now. */
  rotateAdmin(hash: string): void {
    this.adminHash = hash;
    this.emit('revoked', { admin: true });
  }

  /** Last uses since the previous call, for the store (and forgets them). */
  takeUses(): Map<string, number> {
    const out = new Map(this.uses);
    this.uses.clear();
    return out;
  }

  identify(token: string | null): Principal | null {
    if (!token) return null;
    if (tokenMatches(token, this.adminHash)) return { kind: 'admin', actor: 'admin' };
    const hash = hashToken(token);
    const agentId = this.agentHashes.get(hash);
    if (agentId) return { kind: 'agent', actor: `agent:${agentId}`, agentId };
    const api = this.apiTokens.get(hash);
    if (!api) return null;
    const now = this.now();
    if (api.expires_at !== null && now >= api.expires_at) return null;
    this.uses.set(api.id, now);
    return { kind: api.kind, actor: `token:${api.name}`, tokenId: api.id } as Principal;
  }
}
