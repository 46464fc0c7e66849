/**
 * Builds the hub without listening (`buildHub`), so tests drive routes with inject() and real
 * sockets alike; `startHub` opens the stores in a data folder and listens.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import websocket from '@fastify/websocket';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { MAX_FRAME_BYTES } from '../shared/protocol.js';
import { AgentRegistry } from './agents/registry.js';
import { agentRoutes } from './api/agents.js';
import { watchExecutors } from './agents/executor-watch.js';
import { installAuth } from './api/auth-hook.js';
import { eventRoutes } from './api/events.js';
import { healthRoutes } from './api/health.js';
import { installErrorHandling, installUnicodeCheck } from './api/http.js';
import { joinRoutes } from './api/join.js';
import { taskRoutes } from './api/tasks.js';
import { loadAdminToken } from './auth/admin-token.js';
import { Authenticator } from './auth/authenticator.js';
import { hashToken } from './auth/tokens.js';
import type { HubConfig } from './config.js';
import { handleAgentSocket } from './gateway/agent-gateway.js';
import { CLOSE } from './gateway/close-codes.js';
import { Feed } from './gateway/feed.js';
import { ProgressTails } from './gateway/progress-tail.js';
import { Scheduler } from './scheduler/scheduler.js';
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
}

export interface Hub {
  app: FastifyInstance;
  registry: AgentRegistry;
  scheduler: Scheduler;
  feed: Feed;
  store: TaskStore;
  /** Stops accepting, closes sockets and stores. */
  close(): Promise<void>;
}

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
  // Frames up to twice the protocol limit reach the parser and get a PAYLOAD_TOO_LARGE error
  // frame; beyond that ws closes the socket itself (1009) without buffering more.
  await app.register(websocket, { options: { maxPayload: 2 * MAX_FRAME_BYTES } });

  const registry = new AgentRegistry();
  const scheduler = new Scheduler(store, registry, log.child({ module: 'scheduler' }));
  const feed = new Feed();
  const progress = new ProgressTails();
  const auth = new Authenticator(hashToken(deps.adminToken));
  await auth.load(agents);

  const unsubscribeScheduler = scheduler.subscribe();
  const unsubscribe = store.onChange((change) => {
    if (!change.task.lease) progress.drop(change.task.id);
    if (feed.size > 0) feed.publish({ type: 'task.changed', task: change.task, event: change.event });
  });
  registry.on('changed', (agent) => {
    if (feed.size > 0) feed.publish({ type: 'agent.changed', agent: registry.view(agent) });
  });
  const unwatchExecutors = watchExecutors(
    registry,
    (alert) => {
      if (alert.code === 'EXECUTOR_GONE') log.warn({ alert }, alert.message);
      else log.info({ alert }, alert.message);
      feed.publish({ type: 'alert', alert });
    },
    now,
  );

  installErrorHandling(app);
  installAuth(app, auth);
  installUnicodeCheck(app);
  taskRoutes(app, store, progress, registry);
  agentRoutes(app, agents, registry, auth, store, now);
  joinRoutes(app, agents, registry, auth, store, now);
  eventRoutes(app, store);
  healthRoutes(app, store, registry, () => store.healthy(), now());

  const sockets = new Set<import('ws').WebSocket>();
  const alive = new WeakMap<import('ws').WebSocket, boolean>();
  /** Every socket (sidecars and feed subscribers) is pinged; one that stops answering is dropped. */
  const track = (socket: import('ws').WebSocket) => {
    sockets.add(socket);
    alive.set(socket, true);
    socket.on('pong', () => alive.set(socket, true));
    socket.on('close', () => sockets.delete(socket));
  };
  app.get('/v1/agent', { websocket: true, config: { public: true } }, (socket) => {
    track(socket);
    handleAgentSocket(socket, {
      store,
      agents,
      registry,
      scheduler,
      feed,
      progress,
      log: log.child({ module: 'gateway' }),
      heartbeatMs: config.heartbeatMs,
      now,
    });
  });
  app.get('/v1/feed', { websocket: true, config: { tokenInQuery: true } }, (socket) => {
    track(socket);
    feed.add(socket, { type: 'hello', agents: registry.all().map((a) => registry.view(a)), stats: store.stats() });
  });

  // Connection liveness: a socket whose pong has not come back by the next ping is dead. Pings go
  // out in slices so that ten thousand sockets do not stall the event loop in one sweep.
  const PING_SLICE = 256;
  const pinger = setInterval(() => {
    const all = [...sockets];
    const slice = (from: number) => {
      for (const ws of all.slice(from, from + PING_SLICE)) {
        if (ws.readyState !== ws.OPEN) continue;
        if (alive.get(ws) === false) {
          ws.terminate();
          continue;
        }
        alive.set(ws, false);
        ws.ping();
      }
      if (from + PING_SLICE < all.length) setImmediate(() => slice(from + PING_SLICE));
    };
    slice(0);
  }, config.pingMs);
  pinger.unref();

  let closed = false;
  return {
    app,
    registry,
    scheduler,
    feed,
    store,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(pinger);
      scheduler.stop();
      unsubscribe();
      unsubscribeScheduler();
      unwatchExecutors();
      for (const ws of sockets) ws.close(CLOSE.GOING_AWAY, 'hub shutting down');
      feed.closeAll();
      await app.close();
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
