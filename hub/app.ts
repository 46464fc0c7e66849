/**
 * Builds the hub without listening (`buildHub`), so tests drive routes with inject() and real
 * sockets alike; `startHub` opens the stores in a data folder and listens.
 *
 * What is here is assembly only: the stores, the registry, the bus and the services, then the
 * REST edge (validation, auth, routes, OpenAPI) and the features, each a plugin that subscribes
 * to the bus and stops itself (hub/features/). The order of the features is the order they hear
 * an event in, and the order they stop in.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import websocket from '@fastify/websocket';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ErrorBody } from '../shared/errors.js';
import { ExecutorAlert, FeedMessage } from '../shared/feed.js';
import { Agent, AgentView, JoinView, QueueStats } from '../shared/rest.js';
import { Task, TaskEvent, TaskSpec } from '../shared/task.js';
import { AgentRegistry } from './agents/registry.js';
import { agentRoutes } from './api/agents.js';
import { installAuth } from './api/auth-hook.js';
import { eventRoutes } from './api/events.js';
import { healthRoutes } from './api/health.js';
import { installErrorHandling, installUnicodeCheck } from './api/http.js';
import { joinRoutes } from './api/join.js';
import { installOpenApi, openApiRoute } from './api/openapi.js';
import { taskRoutes } from './api/tasks.js';
import { installValidation } from './api/validation.js';
import { loadAdminToken } from './auth/admin-token.js';
import { Authenticator } from './auth/authenticator.js';
import { hashToken } from './auth/tokens.js';
import { TaskArchive } from './archive/archive.js';
import { retentionOptionsOf, type HubConfig } from './config.js';
import { agentSocketFeature } from './features/agent-socket.js';
import { executorWatchFeature } from './features/executor-watch.js';
import { feedFeature } from './features/feed.js';
import { pingerFeature } from './features/pinger.js';
import { progressTailsFeature } from './features/progress-tails.js';
import { schedulerFeature } from './features/scheduler.js';
import { retentionFeature } from './features/retention.js';
import { storeHealthFeature } from './features/store-health.js';
import { Feed } from './gateway/feed.js';
import { Pinger } from './gateway/pinger.js';
import { websocketPluginOptions } from './gateway/socket-errors.js';
import { ProgressTails } from './gateway/progress-tail.js';
import { Scheduler } from './scheduler/scheduler.js';
import { connectBus, EventBus, type HubBus, type HubEvents } from './service/bus.js';
import { createServices, type Services } from './service/index.js';
import { openAgentStore, type AgentStore } from './store/agent-store.js';
import { openTaskStore } from './store/level-task-store.js';
import type { TaskStore } from './store/task-store.js';

export interface HubDeps {
  config: Readonly<HubConfig>;
  store: TaskStore;
  agents: AgentStore;
  adminToken: string;
  log: Logger;
  now?: () => number;
  /** Where retention archives removed tasks. @defaultValue `<config.dataDir>/archive` */
  archive?: TaskArchive;
}

export interface Hub {
  app: FastifyInstance;
  registry: AgentRegistry;
  scheduler: Scheduler;
  feed: Feed;
  store: TaskStore;
  /** What happened, typed: task, agent and store-health changes, alerts. */
  bus: HubBus;
  /** The application services every edge calls (REST, the feed; the CLI's `up` in-process). */
  services: Services;
  /** Every route the hub serves (not the HEAD route fastify adds for each GET): what OpenAPI must list. */
  routes: ReadonlyArray<{ method: string; url: string }>;
  /** Stops accepting, stops every feature, closes sockets and stores. */
  close(): Promise<void>;
}

/** The schemas with an `$id` the routes name: OpenAPI's components. */
const SHARED_SCHEMAS = [TaskSpec, Task, TaskEvent, ErrorBody, AgentView, Agent, QueueStats, ExecutorAlert, FeedMessage, JoinView];

export async function buildHub(deps: HubDeps): Promise<Hub> {
  const { config, store, agents, log } = deps;
  const now = deps.now ?? Date.now;
  const app = Fastify({
    loggerInstance: log,
    bodyLimit: config.bodyLimitBytes,
    forceCloseConnections: true,
    // Errors fastify raises before routing (a malformed URL, an over-long parameter) get the
    // same {code, message, retryable} body as every other error.
    frameworkErrors: (err, _req, reply) => {
      void (reply as unknown as FastifyReply).status(400).send({ code: 'VALIDATION_FAILED', message: err.message, retryable: false });
    },
  }) as unknown as FastifyInstance;
  const routes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
  });
  // Frames up to twice the protocol limit reach the parser and get a PAYLOAD_TOO_LARGE error
  // frame; beyond that ws closes the socket itself (1009) without buffering more. Sockets are
  // closed by the pinger feature, after every other feature stopped listening (not by the
  // plugin's own preClose, which runs first and would make the fleet look gone to the watches).
  // Frames up to twice the protocol limit reach the parser; a peer's broken frames and resets are
  // logged as one rate-limited warning, not an error with a stack each (hub/gateway/socket-errors.ts).
  await app.register(websocket, { ...websocketPluginOptions(log), preClose: (done) => done() });

  const bus: HubBus = new EventBus<HubEvents>((err, type) => log.error({ err, event: type }, 'a listener of the hub bus failed'));
  const registry = new AgentRegistry();
  const scheduler = new Scheduler(store, registry, log.child({ module: 'scheduler' }));
  const feed = new Feed();
  const progress = new ProgressTails();
  const pinger = new Pinger(config.pingMs);
  const auth = new Authenticator(hashToken(deps.adminToken));
  await auth.load(agents);
  const archive = deps.archive ?? new TaskArchive(join(config.dataDir, 'archive'));
  const retentionOn = config.retentionEveryMs > 0 && store.supports.retention;
  const services = createServices({ store, agents, registry, auth, progress, bus, now, archive, retentionOn });
  const disconnectBus = connectBus(bus, store, registry);

  // The REST edge. OpenAPI first: it follows every route registered after it.
  await installOpenApi(app);
  installValidation(app, SHARED_SCHEMAS);
  installErrorHandling(app);
  installAuth(app, services.access);
  installUnicodeCheck(app);
  taskRoutes(app, services);
  agentRoutes(app, services);
  joinRoutes(app, services);
  eventRoutes(app, services);
  healthRoutes(app, services);
  openApiRoute(app);

  // Features, in the order they hear an event: the scheduler first (the registry follows leases).
  await app.register(schedulerFeature, { scheduler, store, bus });
  await app.register(executorWatchFeature, { registry, bus, log, now });
  await app.register(progressTailsFeature, { progress, bus });
  await app.register(storeHealthFeature, { health: services.health, bus, log });
  await app.register(retentionFeature, {
    store,
    archive,
    options: retentionOptionsOf(config),
    everyMs: config.retentionEveryMs,
    tracker: services.retention,
    log: log.child({ module: 'retention' }),
  });
  await app.register(feedFeature, { feed, bus, registry, services, pinger });
  await app.register(agentSocketFeature, {
    pinger,
    deps: { store, agents, registry, scheduler, feed, progress, log: log.child({ module: 'gateway' }), heartbeatMs: config.heartbeatMs, pingMs: config.pingMs, now },
  });
  await app.register(pingerFeature, { pinger });

  let closed = false;
  return {
    app,
    registry,
    scheduler,
    feed,
    store,
    bus,
    services,
    routes,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      disconnectBus();
      await store.close();
      await agents.close();
    },
  };
}

export interface RunningHub extends Hub {
  url: string;
  adminToken: string;
  adminTokenPath: string | null;
}

/** Opens the data folder's stores and listens on config.host:config.port. */
export async function startHub(config: Readonly<HubConfig>, log: Logger): Promise<RunningHub> {
  await mkdir(config.dataDir, { recursive: true });
  const admin = await loadAdminToken(config.dataDir, config.adminToken);
  const store = await openTaskStore(join(config.dataDir, 'tasks'), {
    logger: log.child({ module: 'store' }),
    taskDefaults: {
      maxAttempts: config.maxAttempts,
      timeouts: { start_ms: config.acceptTimeoutMs, lease_ms: config.leaseMs, overall_ms: 3_600_000 },
    },
  });
  let agents: AgentStore;
  try {
    agents = await openAgentStore(join(config.dataDir, 'agents'));
  } catch (err) {
    await store.close();
    throw err;
  }
  const hub = await buildHub({ config, store, agents, adminToken: admin.token, log });
  const address = await hub.app.listen({ host: config.host, port: config.port });
  const port = new URL(address).port;
  return { ...hub, url: `http://${config.host}:${port}`, adminToken: admin.token, adminTokenPath: admin.path };
}
