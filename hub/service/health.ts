/**
 * The hub's health: `ok`, or `degraded` once the task store stopped taking writes (a failed
 * write: nothing more is written until the hub is restarted). `check()` re-reads the store's
 * state and tells the bus when it changed (`store.health`); the store-health feature calls it on
 * a timer and every health report calls it too, so a flip is seen within a second, or at once by
 * whoever asks.
 */
import type { Health } from '../../shared/rest.js';
import type { AgentRegistry } from '../agents/registry.js';
import type { TaskStore } from '../store/task-store.js';
import type { HubBus } from './bus.js';
import type { RetentionTracker } from './retention.js';

export class HealthService {
  private healthy: boolean;

  constructor(
    private readonly store: TaskStore,
    private readonly registry: AgentRegistry,
    private readonly bus: HubBus,
    /** When the hub started (ms since epoch), for `uptime_s`. */
    private readonly startedAt: number,
    private readonly now: () => number,
    /** Set when retention runs: its rounds appear in the report. */
    private readonly retention?: RetentionTracker,
  ) {
    this.healthy = store.healthy();
  }

  /** Whether the store takes writes now; emits `store.health` when that changed since the last check. */
  check(): boolean {
    const healthy = this.store.healthy();
    if (healthy !== this.healthy) {
      this.healthy = healthy;
      this.bus.emit('store.health', { healthy, at: this.now() });
    }
    return healthy;
  }

  /** `GET /v1/health`'s answer: public, so it says nothing a stranger should not know. */
  async report(): Promise<Health> {
    const healthy = this.check();
    const stats = await this.store.stats();
    const agents = this.registry.all();
    const byState = { idle: 0, assigned: 0, working: 0, blocked: 0, offline: 0 };
    for (const a of agents) byState[a.state]++;
    return {
      status: healthy ? 'ok' : 'degraded',
      store: healthy ? 'ok' : 'failed',
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      agents: { connected: agents.filter((a) => a.conn).length, by_state: byState },
      queue: { depth: stats.queued, by_status: stats.byStatus, leases: stats.leases },
      ...(this.retention ? { retention: this.retention.health() } : {}),
    };
  }
}
