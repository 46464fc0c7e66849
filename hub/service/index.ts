/**
 * The application services, built once per hub and handed to every edge (REST, the feed, the
 * CLI's in-process `up`; later MCP, ChatOps, the dashboard), which call them and never the store.
 */
import type { AgentRegistry } from '../agents/registry.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { AgentStore } from '../store/agent-store.js';
import type { TaskStore } from '../store/task-store.js';
import { Access } from './access.js';
import { AgentService } from './agents.js';
import type { HubBus } from './bus.js';
import { HealthService } from './health.js';
import { JoinService } from './joining.js';
import { RetentionTracker } from './retention.js';
import { SelfService } from './self.js';
import { ReviewService } from './review.js';
import { TaskService, type ArchiveReader, type LiveOutput } from './tasks.js';

export interface Services {
  access: Access;
  tasks: TaskService;
  review: ReviewService;
  agents: AgentService;
  health: HealthService;
  joining: JoinService;
  self: SelfService;
  /** Retention rounds since the hub started (the retention feature records them). */
  retention: RetentionTracker;
}

export interface ServiceDeps {
  store: TaskStore;
  agents: AgentStore;
  registry: AgentRegistry;
  auth: Authenticator;
  progress: LiveOutput;
  bus: HubBus;
  now: () => number;
  /** Where `show` finds a task retention removed (hub/archive/). */
  archive?: ArchiveReader;
  /** Whether retention runs (its rounds then appear in the health report). @defaultValue false */
  retentionOn?: boolean;
}

export function createServices(deps: ServiceDeps): Services {
  const { store, registry, bus, now } = deps;
  const agents = new AgentService(deps.agents, registry, deps.auth, store, now);
  const retention = new RetentionTracker();
  return {
    access: new Access(deps.auth),
    tasks: new TaskService(store, registry, deps.progress, deps.archive),
    review: new ReviewService(store),
    agents,
    health: new HealthService(store, registry, bus, now(), now, deps.retentionOn ? retention : undefined),
    joining: new JoinService(deps.agents, registry, deps.auth, now),
    self: new SelfService(deps.agents, agents, deps.auth, store),
    retention,
  };
}
