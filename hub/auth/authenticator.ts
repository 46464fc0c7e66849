/**
 * Who is calling: the admin (operator) token, or an agent's token. Hashes only are kept; a
 * presented token is hashed and looked up, and the admin hash compared in constant time.
 * Agent tokens authenticate sidecars on /v1/agent; what each caller may do is
 * hub/service/access.ts's rule.
 */
import type { AgentStore } from '../store/agent-store.js';
import { hashToken, tokenMatches } from './tokens.js';

export type Principal = { kind: 'admin'; actor: 'admin' } | { kind: 'agent'; actor: string; agentId: string };

export class Authenticator {
  /** token hash -> agent id */
  private readonly agentHashes = new Map<string, string>();

  constructor(private readonly adminHash: string) {}

  async load(agents: AgentStore): Promise<void> {
    for (const a of await agents.list()) this.agentHashes.set(a.token_hash, a.id);
  }

  addAgent(id: string, tokenHash: string): void {
    this.agentHashes.set(tokenHash, id);
  }

  removeAgent(id: string): void {
    for (const [hash, agentId] of this.agentHashes) if (agentId === id) this.agentHashes.delete(hash);
  }

  identify(token: string | null): Principal | null {
    if (!token) return null;
    if (tokenMatches(token, this.adminHash)) return { kind: 'admin', actor: 'admin' };
    const agentId = this.agentHashes.get(hashToken(token));
    return agentId ? { kind: 'agent', actor: `agent:${agentId}`, agentId } : null;
  }
}
