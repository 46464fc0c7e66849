/**
 * Joining: how a new agent host registers itself (docs/onboarding.md). An operator creates a
 * one-time join token (stored hashed, expiring, revocable); the host exchanges it for its agent's
 * token, the registration and the token's use in one durable write. A repeat of the host's own
 * exchange (same name and exchange key) gets a fresh token for the same agent; anyone else holding
 * the used token gets JOIN_TOKEN_USED.
 */
import { SwitchyardError } from '../../shared/errors.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import type { AgentRegistry } from '../agents/registry.js';
import type { Authenticator } from '../auth/authenticator.js';
import { bearer, hashToken, newToken } from '../auth/tokens.js';
import { CLOSE } from '../gateway/close-codes.js';
import type { AgentStore } from '../store/agent-store.js';
import { joinIdOf, joinStatus, joinStoreOf, type JoinRecord, type JoinStore } from '../store/join-store.js';
import { Access, type Principal } from './access.js';

/** @defaultValue ttl 1 hour. */
export const DEFAULT_JOIN_TTL_MS = 3_600_000;

interface Log {
  info(obj: object, msg: string): void;
}

/** What an admin sees of an invitation (never the token or the hashes). */
export function joinView(j: JoinRecord, now: number) {
  return {
    id: j.id,
    status: joinStatus(j, now),
    name: j.name,
    capabilities: j.capabilities,
    description: j.description,
    created_at: j.created_at,
    created_by: j.created_by,
    expires_at: j.expires_at,
    revoked_at: j.revoked_at,
    used_at: j.used_at,
    agent_id: j.agent_id,
    reissued: j.reissued,
  };
}

/** The join token of an `Authorization: Bearer …` header, or JOIN_TOKEN_INVALID. */
export function joinTokenOf(header: string | undefined): string {
  const token = bearer(header);
  if (!token) throw new SwitchyardError('JOIN_TOKEN_INVALID', 'missing join token: send Authorization: Bearer <join token> (from switchyard agent invite)');
  return token;
}

export class JoinService {
  private readonly joins: JoinStore;

  constructor(
    private readonly agents: AgentStore,
    private readonly registry: AgentRegistry,
    private readonly auth: Authenticator,
    private readonly now: () => number,
  ) {
    this.joins = joinStoreOf(agents);
  }

  /** A one-time join token; the token itself is in the answer only. */
  async invite(caller: Principal, body: { name?: string; capabilities?: string[]; ttl_ms?: number; description?: string }, log: Log) {
    Access.authorize(caller, 'agents.write');
    if (body.name !== undefined && (await this.agents.get(body.name))) {
      throw new SwitchyardError('AGENT_EXISTS', `an agent named ${body.name} is already registered: pick another --name, or leave it out to let the host pick one`);
    }
    const token = newToken('sy_join');
    const at = this.now();
    const record = await this.joins.create({
      id: joinIdOf(token),
      token_hash: hashToken(token),
      name: body.name ?? null,
      capabilities: body.capabilities ?? [],
      description: body.description ?? '',
      created_at: at,
      created_by: caller.actor,
      expires_at: at + (body.ttl_ms ?? DEFAULT_JOIN_TTL_MS),
      revoked_at: null,
      used_at: null,
      agent_id: null,
      exchange_key_hash: null,
      reissued: 0,
    });
    log.info({ join_id: record.id, name: record.name, expires_at: record.expires_at }, 'join token created');
    return { join: joinView(record, at), token };
  }

  async list(caller: Principal) {
    Access.authorize(caller, 'agents.read');
    const at = this.now();
    return { joins: (await this.joins.list()).map((j) => joinView(j, at)) };
  }

  async revoke(caller: Principal, id: string, log: Log) {
    Access.authorize(caller, 'agents.write');
    const revoked = await this.joins.revoke(id, this.now());
    log.info({ join_id: id }, 'join token revoked');
    return { join: joinView(revoked, this.now()) };
  }

  /** With the join token itself: is it usable, which protocol, which of the names are taken. */
  async check(token: string, body: { names?: string[]; exchange_key?: string }) {
    const j = await this.joins.check(token, this.now(), body.exchange_key);
    const names = [...new Set([...(body.names ?? []), ...(j.name ? [j.name] : [])])];
    const taken: string[] = [];
    for (const n of names) if ((await this.agents.get(n)) && n !== j.agent_id) taken.push(n);
    return {
      protocol: PROTOCOL_VERSION,
      join: { id: j.id, name: j.name, capabilities: j.capabilities, expires_at: j.expires_at, agent_id: j.agent_id },
      taken,
    };
  }

  /** With the join token itself: register the agent (or repeat the caller's own exchange). */
  async join(token: string, body: { name: string; exchange_key: string; description?: string }, log: Log) {
    const agentToken = newToken('sy_agent');
    const { join, agent, repeat, previousTokenHash } = await this.joins.redeem({
      token,
      name: body.name,
      exchangeKey: body.exchange_key,
      agentTokenHash: hashToken(agentToken),
      description: body.description ?? '',
      now: this.now(),
    });
    if (previousTokenHash !== null) {
      // The reissued token replaces the old one at once; a connection made with the old one ends.
      this.auth.removeAgent(agent.id);
      this.registry.get(agent.id)?.conn?.close(CLOSE.UNAUTHORIZED, 'agent token reissued');
    }
    this.auth.addAgent(agent.id, agent.token_hash);
    log.info({ join_id: join.id, agent_id: agent.id, repeat }, repeat ? 'join exchange repeated: agent token reissued' : 'agent registered by join token');
    const { token_hash: _hidden, ...view } = agent;
    return { agent: view, token: agentToken, protocol: PROTOCOL_VERSION, capabilities: join.capabilities, repeat };
  }
}
