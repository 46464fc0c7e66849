/** GET /v1/health — public: `ok` or `degraded`, the store, agents, queue depth by lane. */
import type { FastifyInstance } from 'fastify';
import type { AgentRegistry } from '../agents/registry.js';
import type { TaskStore } from '../store/task-store.js';

export function healthRoutes(app: FastifyInstance, store: TaskStore, registry: AgentRegistry, storeHealthy: () => boolean, startedAt: number): void {
  app.get('/v1/health', { config: { public: true } }, async (_req, reply) => {
    const healthy = storeHealthy();
    const stats = await store.stats();
    const agents = registry.all();
    const byState: Record<string, number> = { idle: 0, assigned: 0, working: 0, blocked: 0, offline: 0 };
    for (const a of agents) byState[a.state] = (byState[a.state] ?? 0) + 1;
    return reply.status(healthy ? 200 : 503).send({
      status: healthy ? 'ok' : 'degraded',
      store: healthy ? 'ok' : 'failed',
      uptime_s: Math.round((Date.now() - startedAt) / 1000),
      agents: { connected: agents.filter((a) => a.conn).length, by_state: byState },
      queue: { depth: stats.queued, by_status: stats.byStatus, leases: stats.leases },
    });
  });
}
