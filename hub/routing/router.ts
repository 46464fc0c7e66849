/**
 * The router (docs/routing.md). It never scans the queue:
 *   - agents offer `route:<candidate>` for each candidate that fits on them now (fit.ts) — the
 *     policy's and any a queued task still waits for — recomputed with every report; a routed
 *     task requires its current stage's, so the store's ready index matches routed tasks as it
 *     matches any capability, O(signatures), and a repo's budget keeps them off paid candidates
 *     there too (hub/queue/matching.ts budgetAllows);
 *   - when a task is placed, the agent's decision (executor, model, score and reasons) is made
 *     here and written in the assignment's own change;
 *   - queued routed tasks sit in a heap by stage deadline; a sweep moves those no agent took
 *     within their stage's wait to the next candidate;
 *   - finished runs feed the recent success and run time of each model on each agent.
 */
import type { Logger } from 'pino';
import { isPaidCandidate, routeCapability, type RoutingPolicy } from '../../shared/routing.js';
import type { Task } from '../../shared/task.js';
import type { OnLimit } from '../../shared/usage.js';
import type { AgentRegistry, LiveAgent } from '../agents/registry.js';
import { MinHeap } from '../queue/heap.js';
import { stageDeadline } from '../queue/route.js';
import type { TaskChange, TaskStore } from '../store/task-store.js';
import { fitOf, type Fit, type FitAgent } from './fit.js';
import { RecentOutcomes } from './outcomes.js';
import { candidatesOf, DEFAULT_VRAM_HEADROOM } from './policy.js';
import { scoreOf } from './score.js';

/** What a budget says of a repo's paid work: false (free to go), or its `on_limit` (docs/usage.md). */
export type PaidBlock = false | OnLimit;

export interface RouterOptions {
  /** Reports older than this are not trusted (ms). @defaultValue 60000 */
  staleMs: number;
  now?: () => number;
}

interface Due {
  id: string;
  stage: number;
  at: number;
}

interface Waiting {
  stage: number;
  candidate: string;
  repo: string | null;
  /** The stage's deadline this entry was made for. */
  at: number;
  /** The stage's wait (re-armed when a hold, not the fleet, kept the task). */
  waitMs: number;
  /** At a paid candidate: a budget may hold or move it. */
  paid: boolean;
  /** At the last candidate of its chain: there is nowhere to move it, it waits there. */
  last: boolean;
}

/** A move the sweep tried that failed (the store refused a write) is tried again this much later. */
const RETRY_MS = 1000;

export class Router {
  readonly outcomes = new RecentOutcomes();
  private policy: RoutingPolicy | null = null;
  /** The policy's candidates. */
  private candidates: string[] = [];
  /** What agents are checked against: the policy's candidates and those queued tasks wait at (an older policy's, or routing off). */
  private offered: string[] = [];
  /** Queued routed tasks: id -> the stage they wait at and its deadline (the heap may hold older entries; this decides). */
  private readonly queued = new Map<string, Waiting>();
  /** Queued routed tasks per candidate they wait at: a candidate stays offered while a task waits for it. */
  private readonly waitingFor = new Map<string, number>();
  private readonly due = new MinHeap<Due>((a, b) => a.at < b.at);
  /** Those of `queued` at a paid candidate, by repo: what a budget that says "local models only" moves on. */
  private readonly paidByRepo = new Map<string, Set<string>>();
  /** Why a repo's tasks are held (paused, docs/repos.md): their waits do not run meanwhile. */
  private holdOf: (repo: string) => string | null = () => null;
  /** A repo's budget state for paid candidates (the budget service): the sweep's holds and moves, the waiting reason. */
  private paidBlocked: (repo: string | null) => PaidBlock = () => false;
  /** Told when the candidates agents are checked against change (the feature recomputes every agent's offer). */
  onOfferChanged: (() => void) | null = null;
  private readonly now: () => number;
  private sweeping = false;
  /** Told of each task the sweep moved to its next candidate (the scheduler places it). */
  onMoved: ((task: Task) => void) | null = null;
  /** Each agent's fits as of its last report (offerOf). */
  private readonly fits = new WeakMap<FitAgent, Map<string, Fit>>();

  constructor(
    private readonly store: TaskStore,
    private readonly registry: AgentRegistry,
    private readonly opts: RouterOptions,
    private readonly log: Logger,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** The policy in force (filled); null turns routing off for new tasks and offers no route capabilities. */
  setPolicy(policy: RoutingPolicy | null): void {
    this.policy = policy && policy.enabled !== false ? policy : null;
    this.candidates = this.policy ? candidatesOf(this.policy) : [];
    this.store.setRoutingPolicy(this.policy);
    this.recomputeOffered();
  }

  setPaidBlocked(fn: (repo: string | null) => PaidBlock): void {
    this.paidBlocked = fn;
  }

  setHold(fn: (repo: string) => string | null): void {
    this.holdOf = fn;
  }

  /** The candidates agents are checked against: a task already routed keeps being placeable whatever the policy does next. */
  private recomputeOffered(): void {
    const next = [...new Set([...this.candidates, ...this.waitingFor.keys()])];
    const same = next.length === this.offered.length && next.every((c) => this.offered.includes(c));
    this.offered = next;
    if (!same) this.onOfferChanged?.();
  }

  private fitOptions() {
    return { now: this.now(), staleMs: this.opts.staleMs, headroom: this.policy?.vram_headroom ?? DEFAULT_VRAM_HEADROOM };
  }

  /**
   * The route capabilities an agent offers now: one per policy candidate that fits on it. The fits
   * are kept until its next report, so choosing among many agents reads them instead of working
   * each out again (at 10,000 agents that was most of a placement's time).
   */
  offerOf(agent: FitAgent): string[] {
    if (this.offered.length === 0) return [];
    const opts = this.fitOptions();
    const caps: string[] = [];
    const fits = new Map<string, Fit>();
    for (const c of this.offered) {
      const fit = fitOf(agent, c, opts);
      fits.set(c, fit);
      if (fit.ok) caps.push(routeCapability(c));
    }
    this.fits.set(agent, fits);
    return caps;
  }

  /** Whether one candidate fits on an agent now, and why not (waiting reasons). */
  fit(agent: FitAgent, candidate: string): Fit {
    return fitOf(agent, candidate, this.fitOptions());
  }

  /**
   * What `agent` would run `task` on, as the assignment's patch: executor, model, and the route
   * with the decision and its reasons. Null when its candidate does not fit there (any more).
   */
  decide(agent: LiveAgent, task: Task): Partial<Task> | null {
    const route = task.route;
    if (!route) return {};
    // Called while this placement holds one of the agent's slots (place and fill reserve it first): count it as free.
    const scored = this.score(agent, task, 1, true);
    if (!scored) return null;
    const { fit, score, reasons } = scored;
    return {
      executor: fit.executor,
      model: fit.model,
      route: {
        ...route,
        decision: { at: this.now(), agent_id: agent.id, candidate: route.chain[route.stage]!, executor: fit.executor, model: fit.model, score, reasons },
      },
    };
  }

  /**
   * The agent's score for a routed task (higher is better), or null when it cannot take it.
   * `fresh`: work the fit out now (the decision itself) rather than read the one of its last report;
   * the reasons are written only then.
   */
  score(agent: LiveAgent, task: Task, heldSlots = 0, fresh = false): { fit: Extract<Fit, { ok: true }>; score: number; reasons: string } | null {
    const route = task.route!;
    const candidate = route.chain[route.stage];
    if (candidate === undefined) return null;
    const fit = (fresh ? undefined : this.fits.get(agent)?.get(candidate)) ?? this.fit(agent, candidate);
    if (!fit.ok) return null;
    const recent = this.outcomes.of(agent.id, fit.model ?? fit.executor);
    const { score, reasons } = scoreOf({ agentId: agent.id, fit, freeSlots: this.registry.freeSlots(agent) + heldSlots, maxSlots: agent.maxConcurrency, resources: agent.resources, recent }, fresh);
    return { fit, score, reasons };
  }

  /** Why one candidate does not fit on an agent now (waiting reasons): the fit's own words. */
  why(agent: FitAgent, candidate: string): string {
    const fit = this.fit(agent, candidate);
    if (fit.ok) return `${candidate} fits (the report is being refreshed)`;
    return `${candidate}: ${fit.why}`;
  }

  /** Why a routed task is held back whatever the agents (a budget), or null. */
  hold(task: Pick<Task, 'route' | 'repo'>): string | null {
    const route = task.route;
    if (!route) return null;
    const candidate = route.chain[route.stage]!;
    if (!isPaidCandidate(candidate)) return null;
    const block = this.paidBlocked(task.repo);
    if (block === 'wait') return `the budget of repo ${task.repo ?? '(none)'} is used up for today: it waits for ${candidate} (a paid model) until the budget allows it`;
    if (block === 'local') {
      return route.stage + 1 < route.chain.length
        ? `the budget of repo ${task.repo ?? '(none)'} is used up for today: it moves on to a local model`
        : `the budget of repo ${task.repo ?? '(none)'} is used up for today: ${candidate} is its last candidate, so it waits until the budget allows it`;
    }
    return null;
  }

  /** Follows the store: which routed tasks are queued at which stage, and how finished runs went. */
  handleChange({ task, before }: Pick<TaskChange, 'task' | 'before'>): void {
    if (task.route && task.status === 'queued') this.wait(task, stageDeadline(task));
    else if (this.queued.has(task.id)) this.untrack(task.id);
    // A run ended: it counts for that model on that agent.
    if (before?.status === 'running' && task.status !== 'running' && before.lease && before.route?.decision) {
      const d = before.route.decision;
      const passed = task.status === 'completed' || task.status === 'review';
      if (passed || task.status === 'failed' || task.status === 'dead_letter' || task.last_error !== before.last_error) {
        this.outcomes.record(before.lease.agent_id, d.model ?? d.executor, passed, this.now() - (before.lease.started_at ?? this.now()));
      }
    }
  }

  /**
   * Loads a routed task already queued at start. Its wait starts again (at least a full wait from
   * now): the fleet has not reconnected yet, and a hub that was down is no sign no agent would take it.
   */
  track(task: Task): void {
    if (!task.route || task.status !== 'queued') return;
    this.wait(task, Math.max(stageDeadline(task), this.now() + (task.route.waits[task.route.stage] ?? 0)));
  }

  /** Records that a task waits at its stage until `at` (a new entry when the stage or its deadline changed). */
  private wait(task: Task, at: number): void {
    const route = task.route!;
    const known = this.queued.get(task.id);
    if (known && known.stage === route.stage && known.at === at) return;
    if (known) this.untrack(task.id);
    const candidate = route.chain[route.stage]!;
    const last = route.stage + 1 >= route.chain.length;
    const entry: Waiting = { stage: route.stage, candidate, repo: task.repo, at, waitMs: route.waits[route.stage] ?? 0, paid: isPaidCandidate(candidate), last };
    this.queued.set(task.id, entry);
    const n = this.waitingFor.get(candidate) ?? 0;
    this.waitingFor.set(candidate, n + 1);
    if (n === 0 && !this.offered.includes(candidate)) this.recomputeOffered();
    // At its last candidate a task has nowhere to move: no deadline, and no budget sweep either.
    if (last) return;
    if (entry.paid) {
      const repo = task.repo ?? '';
      let ids = this.paidByRepo.get(repo);
      if (!ids) this.paidByRepo.set(repo, (ids = new Set()));
      ids.add(task.id);
    }
    this.due.push({ id: task.id, stage: route.stage, at });
  }

  private untrack(id: string): void {
    const q = this.queued.get(id);
    if (!q) return;
    this.queued.delete(id);
    const n = (this.waitingFor.get(q.candidate) ?? 1) - 1;
    if (n > 0) this.waitingFor.set(q.candidate, n);
    else {
      this.waitingFor.delete(q.candidate);
      if (!this.candidates.includes(q.candidate)) this.recomputeOffered();
    }
    const ids = this.paidByRepo.get(q.repo ?? '');
    if (ids?.delete(id) && ids.size === 0) this.paidByRepo.delete(q.repo ?? '');
  }

  /** Puts a task's deadline off (a hold kept it, or a write failed): the same stage, waited again from now. */
  private rearm(id: string, q: Waiting, afterMs: number): void {
    q.at = this.now() + afterMs;
    this.due.push({ id, stage: q.stage, at: q.at });
  }

  /**
   * Moves on every queued routed task whose stage waited past its bound, and every one at a paid
   * candidate whose repo's budget says local models only. A task held by its repo (paused) or by a
   * budget that says wait does not move: its wait starts again. Returns how many moved.
   */
  async sweep(): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    let moved = 0;
    try {
      const now = this.now();
      const work = new Map<string, { stage: number; reason: string }>();
      while (this.due.size > 0 && this.due.peek()!.at <= now) {
        const d = this.due.pop()!;
        const q = this.queued.get(d.id);
        if (!q || q.stage !== d.stage || q.at !== d.at) continue; // placed, moved or queued again since
        if ((q.repo !== null && this.holdOf(q.repo) !== null) || (q.paid && this.paidBlocked(q.repo) === 'wait')) {
          this.rearm(d.id, q, q.waitMs);
          continue;
        }
        work.set(d.id, { stage: d.stage, reason: `no agent took it for ${q.candidate} within its wait` });
      }
      // A budget that says local: one look per repo with paid work queued, not per task.
      for (const [repo, ids] of this.paidByRepo) {
        if (this.paidBlocked(repo === '' ? null : repo) !== 'local') continue;
        for (const id of ids) {
          const q = this.queued.get(id)!;
          work.set(id, { stage: q.stage, reason: `the budget of repo ${repo || '(none)'} is used up for today: local models only` });
        }
      }
      for (const [id, w] of work) {
        try {
          const task = await this.store.reroute(id, w.stage, w.reason);
          if (task) {
            moved++;
            this.log.info({ task_id: id, from: w.stage, to: task.route?.stage, reason: w.reason }, 'routed task moved to its next candidate');
            // A move is an edit, not a transition: no store event tells anyone, so the router tracks
            // the new stage itself and hands the task to placement (onMoved).
            this.handleChange({ task, before: null });
            this.onMoved?.(task);
          }
          // Else it changed meanwhile (that change, on its way, updates the entry).
        } catch (err) {
          this.log.warn({ err, task_id: id }, 'moving a routed task on failed: trying again shortly');
          const q = this.queued.get(id);
          if (q && q.stage === w.stage) this.rearm(id, q, RETRY_MS);
        }
      }
    } finally {
      this.sweeping = false;
    }
    return moved;
  }
}
