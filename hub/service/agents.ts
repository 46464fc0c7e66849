/**
 * Agents, as operators manage them: register (the token is shown once), list and show with the
 * live state, remove (cut off at once, its leases back to the queue), and ask a connected sidecar
 * to recheck its executors.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Agent, AgentCreateBody, AgentPatchBody, AgentView } from '../../shared/rest.js';
import type { AgentRegistry } from '../agents/registry.js';
import { releaseLeasesOf } from '../agents/release-leases.js';
import type { Authenticator } from '../auth/authenticator.js';
import { hashToken, newToken } from '../auth/tokens.js';
import { CLOSE } from '../gateway/close-codes.js';
import type { AgentRecord, AgentStore } from '../store/agent-store.js';
import type { TaskStore } from '../store/task-store.js';
import { Access, type Principal } from './access.js';
import type { Violations } from '../edge/violations.js';
import type { AuditService } from './audit.js';

interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export class AgentService {
  constructor(
    private readonly agents: AgentStore,
    private readonly registry: AgentRegistry,
    private readonly auth: Authenticator,
    private readonly store: TaskStore,
    private readonly now: () => number,
    private readonly violations?: Violations,
    private readonly audit?: AuditService,
  ) {}

  /** Registers an agent; its token is in the answer and nowhere else (only its hash is stored). */
  async register(caller: Principal, body: AgentCreateBody): Promise<{ agent: Agent; token: string }> {
    Access.authorize(caller, 'agents.write');
    const token = newToken('sy_agent');
    const record = await this.agents.create({
      id: body.id,
      token_hash: hashToken(token),
      created_at: this.now(),
      created_by: caller.actor,
      description: body.description ?? '',
    }, this.audit?.ops(caller, 'agent.registered', body.id));
    this.auth.addAgent(record.id, record.token_hash);
    return { agent: this.viewOf(record), token };
  }

  async list(caller: Principal): Promise<Agent[]> {
    Access.authorize(caller, 'agents.read');
    return (await this.agents.list()).map((r) => this.viewOf(r));
  }

  /** Loads what placement needs from the records (at start). */
  async load(): Promise<void> {
    for (const r of await this.agents.list()) this.registry.setPriority(r.id, r.priority ?? 0);
  }

  /** Changes an agent's priority or description; placement uses the new priority at once. */
  async update(caller: Principal, id: string, body: AgentPatchBody): Promise<Agent> {
    Access.authorize(caller, 'agents.write');
    const record = await this.agents.update(id, body, this.audit?.ops(caller, 'agent.changed', id, JSON.stringify(body)));
    this.registry.setPriority(id, record.priority ?? 0);
    return this.viewOf(record);
  }

  /** The agent, or AGENT_NOT_FOUND. */
  async get(caller: Principal, id: string): Promise<Agent> {
    Access.authorize(caller, 'agents.read');
    return this.viewOf(await this.record(id));
  }

  /**
   * Removes the agent. From here on nothing it sends is acted on (the gateway stops listening to
   * a connection it closed, and the token no longer authenticates), and its tasks go back to the
   * queue now rather than when their leases run out. Returns the leases given back.
   */
  async remove(caller: Principal, id: string, log: Log): Promise<number> {
    Access.authorize(caller, 'agents.write');
    return this.cutOff(id, 'agent removed by an operator', log, caller);
  }

  /**
   * The removal itself, for whoever is allowed to ask (an operator above; the agent itself,
   * self.ts): the record and its token go, the connection ends, its leases go back to the queue.
   */
  async cutOff(id: string, why: string, log: Log, by: Principal | 'hub' = 'hub'): Promise<number> {
    await this.agents.delete(id, this.audit?.ops(by, 'agent.removed', id, why));
    this.auth.removeAgent(id);
    this.registry.setPriority(id, null);
    this.registry.get(id)?.conn?.close(CLOSE.REMOVED, why);
    const released = await releaseLeasesOf(this.store, id, why, log);
    log.info({ agent_id: id, released }, why);
    return released;
  }

  /**
   * An operator fixed something on the host (logged in, pulled a model): the sidecar rechecks now
   * rather than at its next scheduled recheck. The result arrives as its next advert.
   */
  async recheck(caller: Principal, id: string): Promise<void> {
    Access.authorize(caller, 'agents.write');
    await this.record(id);
    const conn = this.registry.get(id)?.conn;
    if (!conn) throw new SwitchyardError('AGENT_OFFLINE', `agent ${id} is not connected: start its sidecar, which checks its executors as it connects`);
    conn.send({ type: 'executors.recheck' });
  }

  /** Every agent the registry knows, live (the feed's snapshot). */
  live(): AgentView[] {
    return this.registry.all().map((a) => this.registry.view(a));
  }

  private async record(id: string): Promise<AgentRecord> {
    const record = await this.agents.get(id);
    if (!record) throw new SwitchyardError('AGENT_NOT_FOUND', `no agent ${id}`);
    return record;
  }

  /** An agent as REST shows it: its record (never the token's hash) and its live view. */
  viewOf(record: AgentRecord): Agent {
    const live = this.registry.get(record.id);
    const { token_hash: _hidden, ...rest } = record;
    const violations = this.violations?.view(`agent:${record.id}`);
    return { ...rest, priority: record.priority ?? 0, ...(live ? this.registry.view(live) : { state: 'offline' as const, tasks: [] }), ...(violations ? { violations } : {}) };
  }
}
