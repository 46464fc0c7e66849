/**
 * Routing as a hub feature (docs/routing.md): the router offers agents their route capabilities
 * and decides placements (through the registry and the scheduler), follows task changes (which
 * routed tasks wait, how runs went), and on a timer moves on routed tasks that waited past their
 * stage's bound and takes back route capabilities of agents whose report went stale.
 */
import type { Logger } from 'pino';
import { ROUTE_CAPABILITY_PREFIX } from '../../shared/routing.js';
import type { AgentRegistry } from '../agents/registry.js';
import type { Router } from '../routing/router.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { HubBus } from '../service/bus.js';
import type { TaskStore } from '../store/task-store.js';
import { feature, onStop } from './feature.js';

export interface RoutingFeatureOptions {
  router: Router;
  registry: AgentRegistry;
  scheduler: Scheduler;
  store: TaskStore;
  bus: HubBus;
  sweepMs: number;
  staleMs: number;
  now: () => number;
  log: Logger;
}

/** Queued tasks read per page when loading the routed ones at start. */
const LOAD_PAGE = 1000;

export const routingFeature = feature<RoutingFeatureOptions>('routing', async (app, o) => {
  const { router, registry, scheduler, store, bus } = o;
  registry.setRouteOffer((agent) => router.offerOf(agent));
  scheduler.setRouter(router);
  router.onMoved = (task) => scheduler.requeued(task);
  registry.routeWords = { why: (agent, candidate) => router.why(agent, candidate), hold: (task) => router.hold(task) };
  // Following changes first, then loading what is queued: a task queued while the pages are read is not missed.
  const offChanged = bus.on('task.changed', (change) => router.handleChange(change));
  // Routed tasks already queued (a restart): their waits start again. Once, at start, by page.
  for (let after: string | undefined; ; ) {
    const page = await store.list({ status: 'queued', limit: LOAD_PAGE, ...(after ? { after } : {}) });
    for (const t of page.items) if (t.route) router.track(t);
    if (!page.next) break;
    after = page.next;
  }
  const reofferAll = () => {
    for (const agent of registry.values()) if (agent.conn && registry.reoffer(agent)) void scheduler.fill(agent);
  };
  const offPolicy = bus.on('routing.changed', reofferAll);
  // A candidate only waiting tasks still need (an older policy's) joins or leaves what agents are checked against.
  router.onOfferChanged = reofferAll;
  // Agents offered route capabilities before the policy was loaded and this feature hooked in.
  reofferAll();
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    const now = o.now();
    // A report that went stale is no longer trusted: its route capabilities go (once: a stale agent that offers none is left be).
    for (const agent of registry.values()) {
      if (agent.conn && agent.lastSeenAt !== null && now - agent.lastSeenAt > o.staleMs && agent.offered.list.some((c) => c.startsWith(ROUTE_CAPABILITY_PREFIX))) registry.reoffer(agent);
    }
    router
      .sweep()
      .catch((err: unknown) => o.log.warn({ err }, 'the routing sweep failed'))
      .finally(() => {
        running = false;
      });
  }, o.sweepMs);
  timer.unref();
  onStop(app, () => {
    clearInterval(timer);
    offChanged();
    offPolicy();
    registry.setRouteOffer(null);
    registry.routeWords = null;
    router.onMoved = null;
    router.onOfferChanged = null;
    scheduler.setRouter(null);
  });
});
