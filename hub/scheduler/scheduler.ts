/**
 * The event-driven scheduler. Nothing polls: it acts when
 *   - a task becomes queued (created, released, retried, lease expired): place it on the least
 *     loaded connected agent that can run it (its delegate only, while it has one);
 *   - an agent gains a free slot (connects, finishes, gives back): fill it from the queue
 *     (store.leaseNext: the best task for its capabilities and repos, O(signatures), not O(queue)).
 * An agent that rejected a task, or let its offer time out, is not offered that task again.
 * When a lease ends by someone other than its holder (cancel, expiry), the holder is told to stop.
 */
import type { Logger } from 'pino';
import type { Task } from '../../shared/task.js';
import type { OnLimit } from '../../shared/usage.js';
import { budgetAllows } from '../queue/matching.js';
import { AgentRegistry, type LiveAgent } from '../agents/registry.js';
import { better, rankOf, type AgentRank } from './agent-rank.js';
import type { Router } from '../routing/router.js';
import type { AgentFilter, TaskChange, TaskStore } from '../store/task-store.js';

const NO_BLOCKS: ReadonlyMap<string, OnLimit> = new Map();

export class Scheduler {
  /** task id -> agents that rejected it or let it time out. In memory: a restart forgets, harmlessly. */
  private readonly refusals = new Map<string, Set<string>>();
  /** The same, by agent: the task ids its leases exclude (passed to the store as they are). */
  private readonly refusedBy = new Map<string, Set<string>>();
  private stopped = false;
  /** Counts tasks entering `queued`; a fill that found nothing retries if it moved meanwhile. */
  private queuedEpoch = 0;
  /** Decides routed tasks (docs/routing.md); absent: none are routed. */
  private router: Router | null = null;

  constructor(
    private readonly store: TaskStore,
    private readonly registry: AgentRegistry,
    private readonly log: Logger,
    /** Repos at their daily budget and what their tasks do (docs/usage.md). @defaultValue none */
    private readonly blockedRepos: () => ReadonlyMap<string, OnLimit> = () => NO_BLOCKS,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  setRouter(router: Router | null): void {
    this.router = router;
  }

  /**
   * Follows the store: applied changes for placement, where the store supports them (the lease
   * then joins the batch that queued the task), else durable ones; durable ones for the rest.
   */
  subscribe(): () => void {
    const applied = this.store.supports.onApplied ? this.store.onApplied : undefined;
    const offApplied = applied?.call(this.store, (change) => this.handleApplied(change));
    const offChange = this.store.onChange((change) => {
      // In the order the store would have told them: applied first, then durable.
      if (!offApplied) this.handleApplied(change);
      this.handleChange(change);
    });
    return () => {
      offApplied?.();
      offChange();
    };
  }

  /** Subscribed to the store: runs after each durable change, in commit order. */
  handleChange({ task, before, event }: TaskChange): void {
    this.registry.trackLease(task, before);
    const holder = before?.lease?.agent_id;
    if (holder && !task.lease) {
      if (event.actor !== `agent:${holder}`) {
        this.registry.get(holder)?.conn?.send({
          type: 'task.cancel',
          task_id: task.id,
          generation: before.lease!.generation,
          reason: event.reason,
        });
      }
      const agent = this.registry.get(holder);
      if (agent) void this.fill(agent);
    }
    if (task.status === 'completed' || task.status === 'cancelled' || task.status === 'dead_letter') {
      const agents = this.refusals.get(task.id);
      if (agents) {
        this.refusals.delete(task.id);
        for (const agentId of agents) this.unrefuse(agentId, task.id);
      }
    }
  }

  /**
   * Subscribed to the store's applied changes: a task that enters `queued` is placed at once, so
   * its lease joins the batch that makes it queued (one fsync for both, not two in a row). The
   * offer itself goes out only once the lease is durable.
   */
  handleApplied({ task, before, event }: TaskChange): void {
    if (task.status !== 'queued') return;
    const holder = before?.lease?.agent_id;
    // An offer that timed out: that agent is not offered the task again (while connected).
    if (holder && before.status === 'assigned' && event.actor !== `agent:${holder}`) this.refuse(task.id, holder);
    this.queuedEpoch++;
    void this.place(task);
  }

  /** Forgets every refusal of an agent (it reconnected, or advertised new executors or models). */
  forgetRefusals(agentId: string): void {
    const tasks = this.refusedBy.get(agentId);
    if (!tasks) return;
    this.refusedBy.delete(agentId);
    for (const taskId of tasks) {
      const agents = this.refusals.get(taskId);
      agents?.delete(agentId);
      if (agents?.size === 0) this.refusals.delete(taskId);
    }
    // Emptied, not only dropped: a lease already waiting on the store holds this set.
    tasks.clear();
  }

  refuse(taskId: string, agentId: string): void {
    let agents = this.refusals.get(taskId);
    if (!agents) this.refusals.set(taskId, (agents = new Set()));
    agents.add(agentId);
    let tasks = this.refusedBy.get(agentId);
    if (!tasks) this.refusedBy.set(agentId, (tasks = new Set()));
    tasks.add(taskId);
  }

  private unrefuse(agentId: string, taskId: string): void {
    const tasks = this.refusedBy.get(agentId);
    tasks?.delete(taskId);
    if (tasks?.size === 0) this.refusedBy.delete(agentId);
  }

  private refused(taskId: string, agentId: string): boolean {
    return this.refusals.get(taskId)?.has(agentId) ?? false;
  }

  /**
   * Direct delegation: a task with a delegate goes to that agent while it is connected and has not
   * refused it; otherwise (the delegate is offline, unknown, rejected it or let it time out) any
   * agent that can run it may take it.
   */
  private delegateHolds(task: Task): boolean {
    if (task.delegate === null) return false;
    return this.registry.get(task.delegate)?.conn != null && !this.refused(task.id, task.delegate);
  }

  private canRun(agent: LiveAgent, task: Task, blocked: ReadonlyMap<string, OnLimit>): boolean {
    if (this.delegateHolds(task) && task.delegate !== agent.id) return false;
    if (task.repo !== null && agent.repos !== null && !agent.repos.includes(task.repo)) return false;
    if (this.refused(task.id, agent.id)) return false;
    const caps = agent.offered.set;
    return task.capabilities.every((c) => caps.has(c)) && budgetAllows({ agentId: agent.id, capabilities: agent.offered.list, blocked }, task);
  }

  /**
   * A queued task whose requirements changed without a status change (the router moved it to its
   * next candidate): placed now, and counted like a newly queued one so that a fill in flight
   * that found nothing looks again.
   */
  requeued(task: Task): void {
    this.queuedEpoch++;
    void this.place(task);
  }

  /** Offers one queued task to the least loaded agent that can run it. */
  async place(queued: Task): Promise<void> {
    if (this.stopped) return;
    let task = queued;
    if (task.delegate !== null && !this.delegateHolds(task)) {
      // The named agent is offline, unknown, or refused it: fall back to any agent.
      try {
        task = (await this.store.undelegate(task.id, 'scheduler')) ?? task;
      } catch (err) {
        this.log.warn({ err, task_id: task.id }, 'ending a delegation failed');
        return;
      }
      if (task.status !== 'queued') return;
    }
    const best = this.chooseAgent(task);
    if (!best) return;
    best.reserved++;
    let leased: Task | null = null;
    try {
      leased = await this.store.leaseTask(task.id, this.filterOf(best));
    } catch (err) {
      this.log.warn({ err, task_id: task.id, agent_id: best.id }, 'placing a task failed');
    } finally {
      best.reserved--;
      this.registry.slotReleased(best);
    }
    if (leased) this.send(best, leased);
  }

  /** Which free agent a queued task goes to: by the router's score for a routed task, else the least loaded. */
  chooseAgent(task: Task): LiveAgent | undefined {
    return task.route && this.router ? this.bestRouted(task, this.router) : this.leastLoaded(task);
  }

  /** The least loaded agent that can run the task (agent-rank.ts); a full tie goes to the agent known first. */
  private leastLoaded(task: Task): LiveAgent | undefined {
    let best: LiveAgent | undefined;
    let bestRank: AgentRank | undefined;
    const blocked = this.blockedRepos();
    // Only agents that may have a free slot (the registry's set), not every agent: a saturated fleet costs nothing here.
    for (const agent of this.registry.mayBeFree()) {
      if (this.registry.freeSlots(agent) === 0) {
        this.registry.dropFull(agent);
        continue;
      }
      if (!this.canRun(agent, task, blocked)) continue;
      const rank = rankOf(agent, this.registry.priorityOf(agent.id), this.registry.completedToday(agent));
      if (!best || !bestRank || better(rank, bestRank) || (!better(bestRank, rank) && agent.seq < best.seq)) {
        best = agent;
        bestRank = rank;
      }
    }
    return best;
  }

  /** For a routed task: the free agent its candidate fits on with the highest score (hub/routing/score.ts); a tie goes to the agent known first. */
  private bestRouted(task: Task, router: Router): LiveAgent | undefined {
    let best: LiveAgent | undefined;
    let bestScore = -Infinity;
    const blocked = this.blockedRepos();
    for (const agent of this.registry.mayBeFree()) {
      if (this.registry.freeSlots(agent) === 0) {
        this.registry.dropFull(agent);
        continue;
      }
      if (!this.canRun(agent, task, blocked)) continue;
      const scored = router.score(agent, task);
      if (scored && (!best || scored.score > bestScore || (scored.score === bestScore && agent.seq < best.seq))) {
        best = agent;
        bestScore = scored.score;
      }
    }
    return best;
  }

  /** Fills every agent's free slots (after the store took no writes for a while). */
  fillAll(): void {
    for (const agent of this.registry.values()) void this.fill(agent);
  }

  /** Fills an agent's free slots from the queue. */
  async fill(agent: LiveAgent): Promise<void> {
    while (!this.stopped && this.registry.freeSlots(agent) > 0) {
      agent.reserved++;
      // A task queued while this lease is in flight may have skipped this agent (its slot was
      // reserved here); if the lease then finds nothing, look again rather than leave it queued.
      const epoch = this.queuedEpoch;
      let leased: Task | null = null;
      try {
        const exclude = this.refusedBy.get(agent.id);
        leased = await this.store.leaseNext(exclude ? { ...this.filterOf(agent), exclude } : this.filterOf(agent));
      } catch (err) {
        this.log.warn({ err, agent_id: agent.id }, 'leasing for an agent failed');
      } finally {
        agent.reserved--;
        this.registry.slotReleased(agent);
      }
      if (!leased) {
        if (epoch !== this.queuedEpoch) continue;
        return;
      }
      this.send(agent, leased);
    }
  }

  private filterOf(agent: LiveAgent): AgentFilter {
    const router = this.router;
    return {
      agentId: agent.id,
      capabilities: agent.offered.list,
      repos: agent.repos,
      blocked: this.blockedRepos(),
      ...(router ? { decide: (task: Task) => router.decide(agent, task) } : {}),
    };
  }

  private send(agent: LiveAgent, task: Task): void {
    // If the socket is gone, the offer times out (acceptTimeoutMs) or the agent's next hello
    // gives it back; either way it is offered again, never lost.
    const conn = agent.conn;
    if (!conn) return;
    // The record's JSON as the store wrote it, when it has it: one serialization of the task, not two.
    const json = conn.sendText ? this.store.recordJson?.(task) : undefined;
    if (json !== undefined) conn.sendText!(`{"type":"task.assign","task":${json},"generation":${task.generation},"lease_expires_at":${task.lease!.expires_at}}`);
    else conn.send({ type: 'task.assign', task, generation: task.generation, lease_expires_at: task.lease!.expires_at });
  }
}
