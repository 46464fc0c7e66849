/**
 * The hub's health: `ok`, or `degraded` while the task store takes no writes (degraded mode,
 * docs/operations.md): a failed batch write (a full disk), which ends by itself once a probe
 * write succeeds, or an operator hold (a restore that lost data), which ends with `acknowledge()`.
 * `check()` re-reads the store's state and tells the bus when it changed (`store.health`); the
 * store tells it at once (watch()), the store-health feature also calls it on a timer, and every
 * health report calls it, so no flip goes unseen.
 */
import { droppedLogLines } from '../../shared/logger.js';
import type { BackupHealth, Health, StoreRecovery } from '../../shared/rest.js';
import type { AgentRegistry } from '../agents/registry.js';
import type { DegradedState, TaskStore } from '../store/task-store.js';
import type { HubBus } from './bus.js';
import type { RetentionTracker } from './retention.js';

/** What a component that found data it cannot vouch for asks of the hub (see degrade()). */
export interface DegradeRequest {
  /** A short stable word for why, shown in health (`restore_lost_data`). */
  reason: string;
  /** What happened and what the operator should look at. */
  message: string;
  /** Only an operator's acknowledgement (POST /v1/health/ack) ends it. Must be true today. */
  needsAck: true;
}

export class HealthService {
  private healthy: boolean;
  private lastReason: string | undefined;

  constructor(
    private readonly store: TaskStore,
    private readonly registry: AgentRegistry,
    private readonly bus: HubBus,
    /** When the hub started (ms since epoch), for `uptime_s`. */
    private readonly startedAt: number,
    private readonly now: () => number,
    /** What the hub did at start about a damaged store (hub/recovery/), reported until it restarts. */
    private readonly recovery: StoreRecovery | null = null,
    /** The backups' state for the report (optional: a hub without a data folder has none). */
    private readonly backups?: { health(): BackupHealth },
    /** Set when retention runs: its rounds appear in the report. */
    private readonly retention?: RetentionTracker,
  ) {
    this.healthy = store.healthy();
    this.lastReason = store.degraded()?.reason;
  }

  /** Follows the store's health changes as they happen; returns the unsubscribe. */
  watch(): () => void {
    return this.store.onHealth(() => this.check());
  }

  /** Whether the store takes writes now; emits `store.health` when that (or the reason) changed since the last check. */
  check(): boolean {
    const healthy = this.store.healthy();
    const reason = this.store.degraded()?.reason;
    if (healthy !== this.healthy || reason !== this.lastReason) {
      this.healthy = healthy;
      this.lastReason = reason;
      this.bus.emit('store.health', { healthy, at: this.now(), ...(reason ? { reason } : {}) });
    }
    return healthy;
  }

  /** Why the store takes no writes, or null. */
  degraded(): DegradedState | null {
    return this.store.degraded();
  }

  /**
   * Puts the hub in degraded mode until an operator acknowledges: for the start-up recovery that
   * restored a backup and lost data. Reads, health and the feed go on; writes are refused with
   * STORE_DEGRADED (`details.needs_ack: true`).
   */
  degrade(request: DegradeRequest): void {
    this.store.holdWrites(request.reason, request.message);
    this.check();
  }

  /**
   * The operator's acknowledgement: ends a hold. A write failure under it is then probed as
   * usual. Returns false when nothing waited for an acknowledgement.
   */
  async acknowledge(): Promise<boolean> {
    if (!this.store.degraded()?.needsAck) return false;
    await this.store.acknowledge();
    this.check();
    return true;
  }

  /** `GET /v1/health`'s answer: public, so it says nothing a stranger should not know. */
  async report(): Promise<Health> {
    const healthy = this.check();
    const stats = await this.store.stats();
    const agents = this.registry.all();
    const byState = { idle: 0, assigned: 0, working: 0, blocked: 0, offline: 0 };
    for (const a of agents) byState[a.state]++;
    const d = this.store.degraded();
    return {
      status: healthy ? 'ok' : 'degraded',
      store: healthy ? 'ok' : 'failed',
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      agents: { connected: agents.filter((a) => a.conn).length, by_state: byState },
      queue: { depth: stats.queued, by_status: stats.byStatus, leases: stats.leases },
      recovery: this.recovery,
      ...(this.backups ? { backups: this.backups.health() } : {}),
      degraded: d ? { reason: d.reason, code: 'STORE_DEGRADED', message: d.message, since: d.since, needs_ack: d.needsAck } : null,
      log: { dropped: droppedLogLines() },
      ...(this.retention ? { retention: this.retention.health() } : {}),
    };
  }
}
