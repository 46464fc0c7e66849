/**
 * Metrics, as operators read them: the Prometheus text (`GET /v1/metrics`) and the hub's own
 * last hour at 10 s (`GET /v1/metrics/history`, the dashboard's charts). The metrics feature
 * (hub/features/metrics.ts) feeds both from the bus and closes the history's steps.
 */
import type { MetricsHistory as HistoryBody } from '../../shared/alerts.js';
import type { AgentRegistry } from '../agents/registry.js';
import { MetricsHistory } from '../metrics/history.js';
import { HubMetrics } from '../metrics/metrics.js';
import type { TaskStore } from '../store/task-store.js';
import { Access, type Principal } from './access.js';

export class MetricsService {
  readonly prom: HubMetrics;
  readonly history = new MetricsHistory();

  constructor(
    private readonly store: TaskStore,
    private readonly registry: AgentRegistry,
    feedSockets: () => number,
    perAgentMax: number,
  ) {
    this.prom = new HubMetrics({ stats: () => store.stats(), agents: () => registry.values(), feedSockets, perAgentMax });
  }

  async text(caller: Principal): Promise<{ contentType: string; body: string }> {
    Access.authorize(caller, 'metrics.read');
    return { contentType: this.prom.contentType, body: await this.prom.text() };
  }

  recent(caller: Principal): HistoryBody {
    Access.authorize(caller, 'metrics.read');
    return { step_ms: this.history.stepMs, points: this.history.list() };
  }

  /** Closes the history's current step (the feature's timer): the gauges from the store's counts and the registry. */
  async closeStep(at: number): Promise<void> {
    const stats = await this.store.stats();
    let online = 0;
    for (const a of this.registry.values()) if (a.conn) online++;
    const queued = Object.values(stats.queued).reduce((a, b) => a + b, 0);
    this.history.close(at, { queued, running: stats.byStatus.running ?? 0, agents_online: online });
  }
}
