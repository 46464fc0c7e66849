/**
 * Live agents: who is connected, what each offers, what it holds, and its state:
 *   offline  — not connected
 *   blocked  — connected but takes no work (draining, or no executor available)
 *   working  — runs at least one task
 *   assigned — holds offers it has not accepted yet, runs none
 *   idle     — connected with nothing
 * Leases held are tracked from the store's change events, so this view follows the durable one.
 */
import { EventEmitter } from 'node:events';
import type { ExecutorAdvert, HostResources, HubMessage } from '../../shared/protocol.js';
import type { AgentState, AgentView } from '../../shared/rest.js';
import { ROUTE_CAPABILITY_PREFIX } from '../../shared/routing.js';
import type { Task } from '../../shared/task.js';
import { DAY_MS } from '../queue/retention-rules.js';
import { LEASED_STATUSES } from '../queue/states.js';

export type { AgentState, AgentView };

export interface AgentConnection {
  send(message: HubMessage): void;
  /** Sends a HubMessage already serialized (a frame built around a record's stored JSON); absent: use send. */
  sendText?(text: string): void;
  close(code: number, reason: string): void;
}

export interface LiveAgent {
  id: string;
  conn: AgentConnection | null;
  capabilities: string[];
  repos: string[] | null;
  executors: ExecutorAdvert[];
  maxConcurrency: number;
  resources: HostResources | null;
  /** task id -> generation and status of the leases it holds. */
  leases: Map<string, { generation: number; status: 'assigned' | 'running' }>;
  /** Slots taken by lease requests in flight (so concurrent placement cannot overfill). */
  reserved: number;
  /** matchCapabilities() of what it offers, kept: placement checks it for every queued task. */
  offered: { list: string[]; set: ReadonlySet<string> };
  /** False from connect until its in-flight tasks are reconciled: no offers in between. */
  ready: boolean;
  /** Set when the sidecar answered BUSY: no more offers until its next heartbeat frees it. */
  holdOff: boolean;
  draining: boolean;
  connectedAt: number | null;
  lastSeenAt: number | null;
  state: AgentState;
  /** When it last became idle (connected with nothing); null while it is not idle. */
  idleSince: number | null;
  /** Tasks it completed on the current UTC day (`day` is that day's start), counted live. */
  completed: { day: number; count: number };
  /** The order it first became known in: placement breaks a full tie by it (the earlier agent first). */
  seq: number;
}

export class AgentRegistry extends EventEmitter<{ changed: [LiveAgent] }> {
  private readonly agents = new Map<string, LiveAgent>();
  /**
   * Agents that may have a free slot: every agent whose free slots just grew is added (refresh,
   * markReady, slotReleased); one found full is dropped as placement walks the set. So placing a
   * queued task looks at the agents with room, not at every agent: a busy fleet of 10,000 costs
   * nothing per queued task (docs/benchmarks.md, issue 16).
   */
  private readonly maybeFree = new Set<LiveAgent>();
  private nextSeq = 0;
  /** Operator-set priorities from the agents' records (0 when unset), for placement. */
  private readonly priorities = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  get(id: string): LiveAgent | undefined {
    return this.agents.get(id);
  }

  /** Every known agent, without copying (the scheduler walks it for each queued task). */
  values(): IterableIterator<LiveAgent> {
    return this.agents.values();
  }

  all(): LiveAgent[] {
    return [...this.agents.values()];
  }

  /** The operator's priority for the agent (its record's `priority`), 0 when unset. */
  priorityOf(id: string): number {
    return this.priorities.get(id) ?? 0;
  }

  /** Keeps the record's priority; null forgets it (the agent was removed). */
  setPriority(id: string, priority: number | null): void {
    if (priority === null || priority === 0) this.priorities.delete(id);
    else this.priorities.set(id, priority);
  }

  private ensure(id: string): LiveAgent {
    let agent = this.agents.get(id);
    if (!agent) {
      agent = {
        id,
        conn: null,
        capabilities: [],
        repos: null,
        executors: [],
        maxConcurrency: 1,
        resources: null,
        leases: new Map(),
        reserved: 0,
        offered: { list: [], set: new Set() },
        ready: false,
        holdOff: false,
        draining: false,
        connectedAt: null,
        lastSeenAt: null,
        state: 'offline',
        idleSince: null,
        completed: { day: 0, count: 0 },
        seq: this.nextSeq++,
      };
      this.agents.set(id, agent);
    }
    return agent;
  }

  /** The router's route capabilities for an agent (docs/routing.md); none until one is set. */
  private routeOffer: ((agent: LiveAgent) => string[]) | null = null;

  /** What the router says of a route capability an agent lacks, and of a task it holds back (waiting reasons). */
  routeWords: { why(agent: LiveAgent, candidate: string): string; hold(task: { route?: Task['route']; repo: string | null }): string | null } | null = null;

  setRouteOffer(fn: ((agent: LiveAgent) => string[]) | null): void {
    this.routeOffer = fn;
  }

  private offered(agent: LiveAgent): LiveAgent['offered'] {
    const list = AgentRegistry.matchCapabilities(agent.capabilities, agent.executors);
    if (this.routeOffer && agent.conn) list.push(...this.routeOffer(agent));
    return { list, set: new Set(list) };
  }

  /**
   * Recomputes what an agent offers (the routing policy changed, its report went stale); true
   * when that changed, so the scheduler can fill it again.
   */
  reoffer(agent: LiveAgent): boolean {
    const next = this.offered(agent);
    const same = next.list.length === agent.offered.list.length && next.list.every((c) => agent.offered.set.has(c));
    agent.offered = next;
    return !same;
  }

  /**
   * The capabilities an agent offers for matching: what it declares, plus `executor:<name>` for
   * each available executor and `model:<name>` for each model, which tasks naming an executor or
   * model require (see hub/service/routing.ts).
   */
  static matchCapabilities(declared: string[], executors: ExecutorAdvert[]): string[] {
    // `route:` capabilities are the router's to offer (what fits, docs/routing.md), never an agent's to claim.
    const caps = new Set(declared.filter((c) => !c.startsWith(ROUTE_CAPABILITY_PREFIX)));
    for (const e of executors) {
      if (!e.available) continue;
      caps.add(`executor:${e.name}`);
      for (const m of e.models) caps.add(`model:${m}`);
    }
    return [...caps];
  }

  /** Records a connection after a valid hello; returns the previous connection, if any. */
  connect(
    id: string,
    conn: AgentConnection,
    offer: Pick<LiveAgent, 'capabilities' | 'repos' | 'executors' | 'maxConcurrency' | 'resources'>,
    now: number,
  ): { agent: LiveAgent; previous: AgentConnection | null } {
    const agent = this.ensure(id);
    const previous = agent.conn;
    Object.assign(agent, offer, { conn, ready: false, holdOff: false, draining: false, connectedAt: now, lastSeenAt: now });
    agent.offered = this.offered(agent);
    this.refresh(agent, true);
    return { agent, previous };
  }

  disconnect(id: string, conn: AgentConnection): void {
    const agent = this.agents.get(id);
    if (!agent || agent.conn !== conn) return; // a newer connection replaced it
    // `reserved` is not reset: each lease request in flight gives its slot back when it ends.
    agent.conn = null;
    agent.ready = false;
    this.refresh(agent, true);
  }

  heartbeat(agent: LiveAgent, resources: HostResources, executors: ExecutorAdvert[] | undefined, draining: boolean, now: number): void {
    agent.resources = resources;
    if (executors) agent.executors = executors;
    agent.draining = draining;
    agent.holdOff = false;
    agent.lastSeenAt = now;
    // Route capabilities follow the report (VRAM, warm models, a usage limit's reset), not only executor changes.
    if (executors || this.routeOffer) agent.offered = this.offered(agent);
    this.refresh(agent);
  }

  /** Follows a durable task change: who holds which lease now. */
  trackLease(task: Task, before: Task | null): void {
    const oldHolder = before?.lease?.agent_id;
    const newHolder = task.lease?.agent_id;
    if (oldHolder && oldHolder !== newHolder) {
      const a = this.agents.get(oldHolder);
      if (a && task.status === 'completed') this.countCompleted(a);
      if (a?.leases.delete(task.id)) this.refresh(a, true);
    }
    if (newHolder && task.lease && LEASED_STATUSES.has(task.status)) {
      const a = this.ensure(newHolder);
      a.leases.set(task.id, { generation: task.lease.generation, status: task.status as 'assigned' | 'running' });
      this.refresh(a, true);
    }
  }

  /** The start of the current UTC day. */
  private today(): number {
    return Math.floor(this.now() / DAY_MS) * DAY_MS;
  }

  private countCompleted(agent: LiveAgent): void {
    const day = this.today();
    if (agent.completed.day !== day) agent.completed = { day, count: 0 };
    agent.completed.count++;
  }

  /** Tasks the agent completed today (UTC), counted live. */
  completedToday(agent: LiveAgent): number {
    return agent.completed.day === this.today() ? agent.completed.count : 0;
  }

  /**
   * The agents that may have a free slot, in no set order (break ties by `seq`). A walker checks
   * `freeSlots` and hands a full one to `dropFull`, which leaves the set until its slots grow again
   * (deleting from a Set while iterating it is safe).
   */
  mayBeFree(): ReadonlySet<LiveAgent> {
    return this.maybeFree;
  }

  dropFull(agent: LiveAgent): void {
    this.maybeFree.delete(agent);
  }

  /** The agents with a free slot now (tests, and callers that want a list). */
  freeAgents(): LiveAgent[] {
    const out: LiveAgent[] = [];
    for (const agent of this.maybeFree) {
      if (this.freeSlots(agent) === 0) this.maybeFree.delete(agent);
      else out.push(agent);
    }
    return out;
  }

  /** A lease request in flight for this agent ended (its reserved slot is back). */
  slotReleased(agent: LiveAgent): void {
    this.noteSlots(agent);
  }

  private noteSlots(agent: LiveAgent): void {
    if (this.freeSlots(agent) > 0) this.maybeFree.add(agent);
  }

  freeSlots(agent: LiveAgent): number {
    if (!agent.conn || !agent.ready || agent.holdOff || agent.state === 'blocked') return 0;
    return Math.max(0, agent.maxConcurrency - agent.leases.size - agent.reserved);
  }

  /** Recomputes the agent's state; tells listeners when it or (with `force`) its leases changed. */
  private refresh(agent: LiveAgent, force = false): void {
    const previous = agent.state;
    let state: AgentState;
    if (!agent.conn) state = 'offline';
    else if (agent.draining || !agent.executors.some((e) => e.available)) state = 'blocked';
    else if ([...agent.leases.values()].some((l) => l.status === 'running')) state = 'working';
    else if (agent.leases.size > 0) state = 'assigned';
    else state = 'idle';
    if (state !== 'idle') agent.idleSince = null;
    else if (previous !== 'idle') agent.idleSince = this.now();
    agent.state = state;
    this.noteSlots(agent);
    if (force || state !== previous) this.emit('changed', agent);
  }

  view(agent: LiveAgent): AgentView {
    return {
      id: agent.id,
      state: agent.state,
      capabilities: agent.capabilities,
      repos: agent.repos,
      executors: agent.executors,
      max_concurrency: agent.maxConcurrency,
      tasks: [...agent.leases].map(([task_id, l]) => ({ task_id, generation: l.generation, status: l.status })),
      resources: agent.resources,
      connected_at: agent.connectedAt,
      last_seen_at: agent.lastSeenAt,
      idle_since: agent.idleSince,
      completed_today: this.completedToday(agent),
    };
  }

  /** The hello's reconciliation is done: the agent may be offered work. */
  markReady(agent: LiveAgent): void {
    agent.ready = true;
    this.noteSlots(agent);
  }

  forget(id: string): void {
    const agent = this.agents.get(id);
    if (agent) {
      // An object someone still holds (a lease request in flight) is never placed on again.
      agent.ready = false;
      this.maybeFree.delete(agent);
    }
    this.agents.delete(id);
  }
}
