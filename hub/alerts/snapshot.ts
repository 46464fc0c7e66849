/**
 * Builds the rules' snapshot (hub/alerts/rules.ts) at each check, cheaply: the registry's live
 * agents, the store's in-memory counts and the heads of its ready queue (at most HEADS, never
 * a scan), the metrics history's window, the budgets' spend today, and what the bus told since
 * (executor alerts, backups).
 * Keeps the little state the rules need across checks: the last queue depths, and since when no
 * agent has been online.
 */
import type { ExecutorAlert } from '../../shared/feed.js';
import type { BudgetView } from '../../shared/usage.js';
import type { AgentPresence } from '../agents/presence.js';
import type { Violations } from '../edge/violations.js';
import type { AgentRegistry } from '../agents/registry.js';
import type { MetricsHistory } from '../metrics/history.js';
import { waitingReason } from '../scheduler/waiting-reason.js';
import type { TaskStore } from '../store/task-store.js';
import type { AlertSettings, AlertSnapshot, BackupState } from './rules.js';

/** Ready-queue heads examined per check (one per kind of task and lane, oldest first). */
const HEADS = 32;

/** Disconnects for violations within an hour that make agent_disconnected fire. */
const REPEAT_DISCONNECTS = 3;

export interface SnapshotDeps {
  registry: AgentRegistry;
  store: TaskStore;
  history: MetricsHistory;
  startedAt: number;
  /** Agents seen over MCP (no socket): present from their last call. */
  presence: AgentPresence;
  /** Agents disconnected for violations (docs/security.md). @defaultValue none */
  violations?: Pick<Violations, 'repeatOffenders'>;
  /** Every repo's budget with today's spend (BudgetService.views(): map lookups, no scan). @defaultValue none */
  budgets?: () => BudgetView[];
}

export class SnapshotSource {
  private readonly depths: number[] = [];
  private noneOnlineSince: number | null;
  private readonly gone = new Map<string, ExecutorAlert>();
  private backup: BackupState | null = null;
  /** Registered agents (from the agent store; refreshed by the service). */
  private registered: ReadonlySet<string> = new Set();

  constructor(
    private readonly deps: SnapshotDeps,
    private readonly settings: AlertSettings,
  ) {
    this.noneOnlineSince = deps.startedAt;
  }

  /** The executor watch said an executor is gone (or back). */
  executorAlert(alert: ExecutorAlert): void {
    if (alert.code === 'EXECUTOR_GONE') this.gone.set(alert.executor, alert);
    else this.gone.delete(alert.executor);
  }

  setBackup(state: BackupState | null): void {
    this.backup = state;
  }

  setRegistered(ids: readonly string[]): void {
    this.registered = new Set(ids);
  }

  isRegistered(id: string): boolean {
    return this.registered.has(id);
  }

  async take(now: number): Promise<AlertSnapshot> {
    const { registry, store, history, startedAt, presence } = this.deps;
    // An agent that works over MCP (no socket) is offline only from its last call.
    const offlineSince = (id: string, since: number) => Math.max(since, presence.lastSeen(id) ?? since);
    const stats = await store.stats();
    let online = 0;
    const offline: AlertSnapshot['offline'] = [];
    const idle: AlertSnapshot['idle'] = [];
    const live = new Set<string>();
    for (const a of registry.values()) {
      live.add(a.id);
      if (a.conn) {
        online++;
        if (a.state === 'idle' && a.idleSince !== null) idle.push({ id: a.id, since: a.idleSince });
      }
      // The registry keeps removed agents (offline); only registered ones are missed.
      else if (this.registered.has(a.id)) offline.push({ id: a.id, since: offlineSince(a.id, a.lastSeenAt ?? startedAt) });
    }
    // Registered agents this hub has not seen since it started: offline at least since then.
    for (const id of this.registered) if (!live.has(id)) offline.push({ id, since: offlineSince(id, startedAt) });
    if (online > 0) this.noneOnlineSince = null;
    else this.noneOnlineSince ??= now;

    const depth = Object.values(stats.queued).reduce((a, b) => a + b, 0);
    this.depths.push(depth);
    if (this.depths.length > this.settings.queueGrowingChecks + 1) this.depths.shift();

    const unplaceable: AlertSnapshot['unplaceable'] = [];
    // With no agent at all, no_agent_online says it once instead of once per kind of task.
    if (online > 0) {
      for (const head of store.queuedHeads?.(HEADS) ?? []) {
        if (now - head.queued_at < this.settings.unplaceableMs) continue;
        const reason = waitingReason({ status: 'queued', capabilities: head.capabilities, repo: head.repo, delegate: head.delegate }, registry);
        // Null: it can be placed now; "waiting for a free slot": an able agent is busy, not missing.
        if (reason === null || reason.startsWith('waiting for a free slot')) continue;
        unplaceable.push({ task_id: head.id, queued_at: head.queued_at, reason });
      }
    }

    return {
      now,
      startedAt,
      online,
      noneOnlineSince: this.noneOnlineSince,
      idle,
      disconnected: (this.deps.violations?.repeatOffenders(REPEAT_DISCONNECTS) ?? [])
        .filter((o) => o.key.startsWith('agent:'))
        .map((o) => ({ id: o.key.slice('agent:'.length), count: o.count })),
      offline,
      queueDepths: [...this.depths],
      unplaceable,
      window: history.countsSince(now - this.settings.windowMs),
      store: { healthy: store.healthy() },
      backup: this.backup,
      executorsGone: [...this.gone.values()].map((a) => ({ executor: a.executor, message: a.message })),
      budgets: this.deps.budgets?.() ?? [],
    };
  }
}
