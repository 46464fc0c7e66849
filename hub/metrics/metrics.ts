/**
 * The hub's Prometheus metrics (prom-client), one Registry per hub: tests run several hubs in one
 * process, and the global default registry would mix them. Counters and histograms are updated
 * from bus events (`taskChanged`) and the store's batch hook (`batch`), never by scanning the
 * store; gauges (queue depth, tasks by status, agents by state, sockets) are read when scraped,
 * from the store's in-memory counts and the registry.
 *
 * Label cardinality is bounded: lanes, statuses, agent states and outcomes are fixed sets; no
 * label names a task; `switchyard_agent_leases{agent}` exists only while the fleet has at most
 * `perAgentMax` agents (docs/metrics.md).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LANES } from '../../shared/task.js';
import type { LiveAgent } from '../agents/registry.js';
import type { QueueStats } from '../store/task-store.js';
import type { TaskFacts } from './task-facts.js';
import { splitModelKey } from '../../shared/usage.js';

export interface MetricsSources {
  stats(): Promise<QueueStats>;
  agents(): Iterable<LiveAgent>;
  /** Open feed (dashboard/CLI) sockets. */
  feedSockets(): number;
  /** Per-agent series only up to this many agents. */
  perAgentMax: number;
}

const SECONDS = [0.005, 0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600];
const RUN_SECONDS = [1, 10, 30, 60, 300, 900, 1800, 3600, 7200, 14400];
const AGENT_STATES = ['idle', 'assigned', 'working', 'blocked', 'offline'] as const;

export class HubMetrics {
  readonly registry = new Registry();
  private readonly created: Counter<'lane'>;
  private readonly completed: Counter<'lane'>;
  private readonly failed: Counter<'lane'>;
  private readonly deadLettered: Counter<'lane'>;
  private readonly assign: Histogram<'lane'>;
  private readonly run: Histogram<'outcome'>;
  private readonly batchOps: Histogram;
  private readonly fsync: Histogram;
  private readonly backups: Counter<'outcome'>;
  private readonly lastBackup: Gauge;
  private readonly pushSends: Counter<'outcome'>;
  private readonly refusedAtEdge: Counter<'budget'>;
  private readonly alertsFired: Counter<'rule' | 'severity'>;
  private readonly tokens: Counter<'kind' | 'model' | 'executor'>;
  private readonly cost: Counter<'model' | 'executor'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new Counter<L>({ name, help, labelNames, registers });
    this.created = counter('switchyard_tasks_created_total', 'Tasks created', ['lane']);
    this.completed = counter('switchyard_tasks_completed_total', 'Tasks completed', ['lane']);
    this.failed = counter('switchyard_task_attempts_failed_total', 'Attempts that ended in failure (retried or dead-lettered)', ['lane']);
    this.deadLettered = counter('switchyard_tasks_dead_lettered_total', 'Tasks moved to the dead letter queue', ['lane']);
    this.assign = new Histogram({ name: 'switchyard_enqueue_to_assign_seconds', help: 'From entering the queue to being offered to an agent', labelNames: ['lane'], buckets: SECONDS, registers });
    this.run = new Histogram({ name: 'switchyard_task_run_seconds', help: 'How long an attempt ran, by how it ended', labelNames: ['outcome'], buckets: RUN_SECONDS, registers });
    this.batchOps = new Histogram({ name: 'switchyard_store_batch_ops', help: 'Key operations per group-commit batch', buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384], registers });
    this.fsync = new Histogram({ name: 'switchyard_store_fsync_seconds', help: "Duration of each batch's fsync'd write", buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1], registers });
    this.backups = counter('switchyard_backups_total', 'Backups by outcome', ['outcome']);
    this.tokens = counter('switchyard_tokens_total', 'Tokens agents reported (docs/usage.md), input or output', ['kind', 'model', 'executor']);
    this.cost = counter('switchyard_cost_usd_total', 'Cost in US dollars agents reported (docs/usage.md)', ['model', 'executor']);
    this.lastBackup = new Gauge({ name: 'switchyard_backup_last_success_timestamp_seconds', help: 'When the last good backup finished (0: none since start)', registers });
    this.pushSends = counter('switchyard_push_sends_total', 'Push notifications sent, by outcome', ['outcome']);
    this.refusedAtEdge = counter('switchyard_rate_limited_total', 'Requests and frames refused for a rate limit (light, normal, heavy, auth_failures, connects, ws) or violations (violations)', ['budget']);
    this.alertsFired = counter('switchyard_alerts_fired_total', 'Alerts fired or repeated', ['rule', 'severity']);
    for (const lane of LANES) for (const c of [this.created, this.completed, this.failed, this.deadLettered]) c.inc({ lane }, 0);

    new Gauge({
      name: 'switchyard_queue_depth',
      help: 'Queued tasks by lane',
      labelNames: ['lane'],
      registers,
      async collect() {
        const stats = await sources.stats();
        for (const lane of LANES) this.set({ lane }, stats.queued[lane]);
      },
    });
    new Gauge({
      name: 'switchyard_tasks',
      help: 'Tasks by active status (settled ones are not counted in memory)',
      labelNames: ['status'],
      registers,
      async collect() {
        const stats = await sources.stats();
        for (const [status, n] of Object.entries(stats.byStatus)) this.set({ status }, n ?? 0);
      },
    });
    new Gauge({
      name: 'switchyard_leases',
      help: 'Tasks leased to agents (assigned or running)',
      registers,
      async collect() {
        this.set((await sources.stats()).leases);
      },
    });
    new Gauge({
      name: 'switchyard_agents',
      help: 'Known agents by state',
      labelNames: ['state'],
      registers,
      collect() {
        const counts: Record<string, number> = Object.fromEntries(AGENT_STATES.map((s) => [s, 0]));
        for (const a of sources.agents()) counts[a.state] = (counts[a.state] ?? 0) + 1;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'switchyard_sockets',
      help: 'Open WebSockets: agents (sidecars) and feed (dashboards, CLIs)',
      labelNames: ['kind'],
      registers,
      collect() {
        let agents = 0;
        for (const a of sources.agents()) if (a.conn) agents++;
        this.set({ kind: 'agent' }, agents);
        this.set({ kind: 'feed' }, sources.feedSockets());
      },
    });
    new Gauge({
      name: 'switchyard_agent_leases',
      help: 'Leases held per agent (only while the fleet has at most SWITCHYARD_METRICS_PER_AGENT_MAX agents)',
      labelNames: ['agent'],
      registers,
      collect() {
        this.reset();
        const all = [...sources.agents()];
        if (all.length > sources.perAgentMax) return;
        for (const a of all) this.set({ agent: a.id }, a.leases.size);
      },
    });
  }

  /** Follows one durable task change. */
  taskChanged(f: TaskFacts): void {
    const lane = { lane: f.lane };
    if (f.created) this.created.inc(lane);
    if (f.completed) this.completed.inc(lane);
    if (f.failed) this.failed.inc(lane);
    if (f.deadLettered) this.deadLettered.inc(lane);
    if (f.assignMs !== null) this.assign.observe(lane, f.assignMs / 1000);
    if (f.run) this.run.observe({ outcome: f.run.outcome }, f.run.ms / 1000);
    for (const [key, d] of f.usage) {
      const { executor, model } = splitModelKey(key);
      if (d.input_tokens > 0) this.tokens.inc({ kind: 'input', model, executor }, d.input_tokens);
      if (d.output_tokens > 0) this.tokens.inc({ kind: 'output', model, executor }, d.output_tokens);
      if (d.cost_usd > 0) this.cost.inc({ model, executor }, d.cost_usd);
    }
  }

  /** One group-commit batch on disk. */
  batch(ops: number, ms: number): void {
    this.batchOps.observe(ops);
    this.fsync.observe(ms / 1000);
  }

  /** A backup finished (the backup feature's hook; docs/metrics.md). */
  backup(ok: boolean, at: number): void {
    this.backups.inc({ outcome: ok ? 'ok' : 'failed' });
    if (ok) this.lastBackup.set(at / 1000);
  }

  /** A push send ended (the push feature's hook); a fixed set of outcomes keeps the label bounded. */
  push(outcome: 'sent' | 'failed' | 'pruned' | 'retried'): void {
    this.pushSends.inc({ outcome });
  }

  /** A request or frame refused at the edge (docs/security.md); the budgets are a fixed set. */
  refused(budget: string): void {
    this.refusedAtEdge.inc({ budget });
  }

  alert(rule: string, severity: string): void {
    this.alertsFired.inc({ rule, severity });
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
