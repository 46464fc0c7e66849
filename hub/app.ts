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
import { mkdir, readFile } from 'node:fs/promises';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Alert } from '../shared/alerts.js';
import { ErrorBody, SwitchyardError } from '../shared/errors.js';
import { ExecutorAlert, FeedBatch, FeedMessage } from '../shared/feed.js';
import { Agent, AgentView, BackupManifest, JoinView, QueueStats, type StoreRecovery } from '../shared/rest.js';
import { Task, TaskEvent, TaskSpec } from '../shared/task.js';
import { AgentRegistry } from './agents/registry.js';
import { agentRoutes } from './api/agents.js';
import { backupRoutes } from './api/backups.js';
import { alertRoutes } from './api/alerts.js';
import { installAuth } from './api/auth-hook.js';
import { eventRoutes } from './api/events.js';
import { healthRoutes } from './api/health.js';
import { installErrorHandling, installUnicodeCheck } from './api/http.js';
import { joinRoutes } from './api/join.js';
import { metricsRoutes } from './api/metrics.js';
import { pushRoutes } from './api/push.js';
import { installOpenApi, openApiRoute } from './api/openapi.js';
import { taskRoutes } from './api/tasks.js';
import { installValidation } from './api/validation.js';
import { loadAdminToken } from './auth/admin-token.js';
import { Authenticator } from './auth/authenticator.js';
import type { Action } from './service/access.js';
import { tokenRoutes } from './api/tokens.js';
import { limitRoutes } from './api/limits.js';
import { repoRoutes } from './api/repos.js';
import { usageRoutes } from './api/usage.js';
import { budgetsFeature } from './features/budgets.js';
import { installPreAuthLimits, installRequestLimits } from './api/rate-limit-hook.js';
import { RateLimits } from './edge/rate-limits.js';
import { Violations } from './edge/violations.js';
import { TokenView } from '../shared/tokens.js';
import { tokenStoreOf } from './store/token-store.js';
import { hashToken } from './auth/tokens.js';
import { retentionOptionsOf, type HubConfig } from './config.js';
import { prepareDataDir, restoreBackup } from './backup/index.js';
import { alertSettingsOf } from './alerts/settings.js';
import { TaskArchive } from './archive/archive.js';
import { agentSocketFeature } from './features/agent-socket.js';
import { alertsFeature } from './features/alerts.js';
import { workflowFeature } from './features/workflow.js';
import { workflowRoutes } from './api/workflow.js';
import { historyRoutes } from './api/history.js';
import { historyFeature } from './features/history.js';
import { mcpFeature } from './features/mcp.js';
import { chatOpsFeature } from './features/chatops.js';
import { auditFeature, installAuditHook } from './features/audit.js';
import { AuditEntry } from '../shared/audit.js';
import { dashboardFeature } from './features/dashboard.js';
import { backupSignalsFeature } from './features/backup-signals.js';
import { backupsFeature } from './features/backups.js';
import { executorWatchFeature } from './features/executor-watch.js';
import { feedFeature } from './features/feed.js';
import { metricsFeature } from './features/metrics.js';
import { pingerFeature } from './features/pinger.js';
import { progressTailsFeature } from './features/progress-tails.js';
import { pushFeature } from './features/push.js';
import { schedulerFeature } from './features/scheduler.js';
import { routingFeature } from './features/routing.js';
import { routingRoutes } from './api/routing.js';
import { readPolicyFile } from './routing/policy-file.js';
import { retentionFeature } from './features/retention.js';
import { storeHealthFeature } from './features/store-health.js';
import { Feed } from './gateway/feed.js';
import { Pinger } from './gateway/pinger.js';
import { websocketPluginOptions } from './gateway/socket-errors.js';
import { ProgressTails } from './gateway/progress-tail.js';
import { loadVapidKeys, type VapidKeys } from './push/vapid.js';
import { Scheduler } from './scheduler/scheduler.js';
import { connectBus, EventBus, type HubBus, type HubEvents } from './service/bus.js';
import { createServices, type Services } from './service/index.js';
import { openHubStores } from './recovery/open.js';
import type { RestoreFn } from './recovery/recover.js';
import type { AgentStore } from './store/agent-store.js';
import type { TaskStore } from './store/task-store.js';

export interface HubDeps {
  config: Readonly<HubConfig>;
  store: TaskStore;
  agents: AgentStore;
  adminToken: string;
  /** The admin.token file the token came from; null when it came from the environment (rotation is then kept in the store). */
  adminTokenPath?: string | null;
  log: Logger;
  now?: () => number;
  /** What startHub did about a damaged store (hub/recovery/), for /v1/health. */
  recovery?: StoreRecovery | null;
  /** The VAPID keys; default: read from (or made once into) `<config.dataDir>/vapid.json`. */
  vapid?: VapidKeys;
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
  /** The edge's counters: rate limits and violations (docs/security.md). */
  edge: { limits: RateLimits; violations: Violations };
  /** Every API route the hub serves (not the HEAD route fastify adds for each GET, not the dashboard's files): what OpenAPI must list. */
  routes: ReadonlyArray<{ method: string; url: string; action?: Action; public?: boolean }>;
  /** Stops accepting, stops every feature, closes sockets and stores. */
  close(): Promise<void>;
}

/** The schemas with an `$id` the routes name: OpenAPI's components. */
const SHARED_SCHEMAS = [TaskSpec, Task, TaskEvent, ErrorBody, AgentView, Agent, QueueStats, ExecutorAlert, Alert, FeedMessage, FeedBatch, JoinView, BackupManifest, TokenView, AuditEntry];

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
  const routes: Array<{ method: string; url: string; action?: Action; public?: boolean }> = [];
  app.addHook('onRoute', (route) => {
    if (route.config?.ui === true) return;
    const access = { ...(route.config?.action ? { action: route.config.action } : {}), ...(route.config?.public ? { public: true } : {}) };
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url, ...access });
  });
  // Frames up to twice the protocol limit reach the parser and get a PAYLOAD_TOO_LARGE error
  // frame; beyond that ws closes the socket itself (1009) without buffering more. Sockets are
  // closed by the pinger feature, after every other feature stopped listening (not by the
  // plugin's own preClose, which runs first and would make the fleet look gone to the watches).
  // Frames up to twice the protocol limit reach the parser; a peer's broken frames and resets are
  // logged as one rate-limited warning, not an error with a stack each (hub/gateway/socket-errors.ts).
  await app.register(websocket, { ...websocketPluginOptions(log), preClose: (done) => done() });

  const bus: HubBus = new EventBus<HubEvents>((err, type) => log.error({ err, event: type }, 'a listener of the hub bus failed'));
  const registry = new AgentRegistry(now);
  // Budgets (docs/usage.md) decide which repos' tasks may start on paid executors; asked only once services exist.
  const scheduler = new Scheduler(store, registry, log.child({ module: 'scheduler' }), () => services.budgets.blockedRepos());
  const feed = new Feed();
  const progress = new ProgressTails();
  const pinger = new Pinger(config.pingMs);
  const tokenStore = tokenStoreOf(agents);
  const violations = new Violations({ max: config.violationMax, windowMs: config.violationWindowMs, bansMs: config.violationBansMs, cleanMs: config.violationCleanMs }, now);
  const rateLimits = new RateLimits(
    {
      enabled: config.rateLimits,
      perMinute: { light: config.limitLightPerMin, normal: config.limitNormalPerMin, heavy: config.limitHeavyPerMin, auth_failures: config.limitAuthFailuresPerMin, connects: config.limitConnectsPerMin },
      wsPerSecond: config.limitWsPerSec,
      windowMs: config.limitWindowMs,
      penaltyMaxMs: config.limitPenaltyMaxMs,
      quietMs: config.limitQuietMs,
    },
    now,
  );
  const auth = new Authenticator(hashToken(deps.adminToken), now);
  await auth.load(agents, await tokenStore.list());
  const archive = deps.archive ?? new TaskArchive(join(config.dataDir, 'archive'));
  const retentionOn = config.retentionEveryMs > 0 && store.supports.retention;
  const vapid = deps.vapid ?? (await loadVapidKeys(config.dataDir, now)).keys;
  const pushAgent = config.pushCaFile ? await pushTlsAgent(config.pushCaFile) : undefined;
  const services = createServices({
    store,
    agents,
    registry,
    auth,
    progress,
    bus,
    now,
    archive,
    retentionOn,
    recovery: deps.recovery ?? null,
    backup: { dataDir: config.dataDir, everyMs: config.backupEveryMs, keep: config.backupKeep, log: log.child({ module: 'backup' }) },
    alertSettings: alertSettingsOf(config),
    feedSockets: () => feed.size,
    perAgentMax: config.metricsPerAgentMax,
    guardianChains: config.guardianChains,
    reviewRepos: config.reviewRepos,
    context: { budget: config.contextBudget, budgets: config.contextBudgets, repoDirs: config.contextRepoDirs },
    historyMemory: config.historyMemory,
    push: { keys: vapid, subject: config.pushSubject, log: log.child({ module: 'push' }), ...(pushAgent ? { agent: pushAgent } : {}) },
    tokens: { store: tokenStore, admin: { path: deps.adminTokenPath ?? null, configuredHash: hashToken(deps.adminToken) } },
    rateLimits,
    violations,
    routing: { staleMs: config.routingStaleMs, log: log.child({ module: 'routing' }) },
  });
  await services.limits.load();
  await services.routing.load(config.routingPolicyFile ? await readPolicyFile(config.routingPolicyFile) : undefined, config.routingPolicyFile ?? undefined);
  await services.budgets.load();
  rateLimits.onRefused = (budget) => services.metrics.prom.refused(budget);
  violations.onDisconnect = () => services.metrics.prom.refused('violations');
  // An earlier rotation of a token the environment still names holds (hub/service/tokens.ts).
  const adminHash = await services.tokens.adminHashAtStart();
  if (adminHash !== hashToken(deps.adminToken)) auth.rotateAdmin(adminHash);
  services.tokens.start();
  await services.history.load();
  await services.agents.load();
  await services.repos.load();
  // The registry's say in scheduling (docs/repos.md): a paused repo's tasks wait, priorities rank within a lane.
  store.setReadyPolicy?.({ hold: (repo) => services.repos.holdOf(repo), rank: (repo) => services.repos.priorityOf(repo) });
  const disconnectBus = connectBus(bus, store, registry);

  // The REST edge. OpenAPI first: it follows every route registered after it.
  await installOpenApi(app);
  installValidation(app, SHARED_SCHEMAS);
  installErrorHandling(app);
  installPreAuthLimits(app, rateLimits, violations);
  installAuth(app, services.access);
  installRequestLimits(app, rateLimits);
  installAuditHook(app, services.audit, log.child({ module: 'audit' }));
  installUnicodeCheck(app);
  taskRoutes(app, services);
  agentRoutes(app, services);
  tokenRoutes(app, services);
  limitRoutes(app, services);
  repoRoutes(app, services);
  usageRoutes(app, services);
  joinRoutes(app, services);
  eventRoutes(app, services);
  healthRoutes(app, services);
  backupRoutes(app, services);
  metricsRoutes(app, services);
  alertRoutes(app, services);
  pushRoutes(app, services);
  workflowRoutes(app, services);
  historyRoutes(app, services.history);
  routingRoutes(app, services);
  openApiRoute(app);

  // Context first of all: it writes a newly queued task's context ahead of the scheduler's placement (hub/features/history.ts).
  await app.register(historyFeature, { history: services.history, context: services.context, store, bus, log: log.child({ module: 'history' }) });
  // Features, in the order they hear an event: the scheduler first (the registry follows leases).
  await app.register(schedulerFeature, { scheduler, store, bus });
  await app.register(routingFeature, { router: services.router, registry, scheduler, store, bus, sweepMs: config.routingSweepMs, staleMs: config.routingStaleMs, now, log: log.child({ module: 'routing' }) });
  await app.register(budgetsFeature, { budgets: services.budgets, bus });
  await app.register(executorWatchFeature, { registry, bus, log, now });
  await app.register(progressTailsFeature, { progress, bus });
  await app.register(storeHealthFeature, { health: services.health, bus, log });
  await app.register(backupsFeature, { backups: services.backups, now });
  await app.register(backupSignalsFeature, { services, bus, everyMs: config.backupEveryMs });
  await app.register(metricsFeature, { metrics: services.metrics, bus, store, now });
  await app.register(alertsFeature, { alerts: services.alerts, bus, log: log.child({ module: 'alerts' }), checkMs: config.alertCheckMs });
  await app.register(workflowFeature, {
    escalations: services.escalations,
    alerts: services.alerts,
    store,
    bus,
    log: log.child({ module: 'workflow' }),
    now,
    watchdog: { questionMs: config.questionEscalateMs, delegateMs: config.delegateTimeoutMs },
  });
  await app.register(retentionFeature, {
    store,
    archive,
    options: retentionOptionsOf(config),
    everyMs: config.retentionEveryMs,
    tracker: services.retention,
    log: log.child({ module: 'retention' }),
  });
  await app.register(feedFeature, { feed, bus, registry, services, pinger, store });
  await app.register(agentSocketFeature, {
    pinger,
    deps: { store, agents, registry, scheduler, feed, progress, log: log.child({ module: 'gateway' }), heartbeatMs: config.heartbeatMs, pingMs: config.pingMs, now, workflow: services.workflow, limits: rateLimits, violations },
  });
  await app.register(pushFeature, { push: services.push, bus, log: log.child({ module: 'push' }) });
  await app.register(mcpFeature, { services, log: log.child({ module: 'mcp' }) });
  await app.register(auditFeature, { audit: services.audit, log: log.child({ module: 'audit' }) });
  await app.register(chatOpsFeature, {
    services,
    bus,
    log: log.child({ module: 'chatops' }),
    now,
    signingSecret: config.slackSigningSecret,
    users: config.slackUsers,
    responseHosts: config.slackResponseHosts,
    webhookUrl: config.slackWebhookUrl,
  });
  await app.register(dashboardFeature, {});
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
    edge: { limits: rateLimits, violations },
    routes,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      disconnectBus();
      await services.tokens.stop();
      await store.close();
      await agents.close();
    },
  };
}

/** An https agent that trusts `caFile`'s certificates beside the system's (config.pushCaFile). */
async function pushTlsAgent(caFile: string): Promise<HttpsAgent> {
  const pem = await readFile(caFile, 'utf8').catch((err: Error) => {
    throw new SwitchyardError('VALIDATION_FAILED', `config pushCaFile (SWITCHYARD_PUSH_CA_FILE): cannot read ${caFile} (${err.message})`, { field: 'pushCaFile' });
  });
  return new HttpsAgent({ ca: [...rootCertificates, pem] });
}

export interface RunningHub extends Hub {
  url: string;
  adminToken: string;
  adminTokenPath: string | null;
}

/** The `restore` policy's automatic restore: the newest verified backup (hub/backup/restore.ts). */
function restoreNewestBackup(log: Logger): RestoreFn {
  return async (dataDir) => {
    const report = await restoreBackup({ dataDir, log });
    return { from: report.from, backup_at: report.manifest.created_at, moved_to: report.moved_to };
  };
}

/**
 * Opens the data folder's stores and listens on config.host:config.port. A damaged store is
 * repaired, restored (with `options.restore`) or refused first, by `config.onCorruption`
 * (hub/recovery/).
 */
export async function startHub(config: Readonly<HubConfig>, log: Logger, options: { restore?: RestoreFn } = {}): Promise<RunningHub> {
  await mkdir(config.dataDir, { recursive: true });
  // A restore stopped halfway is finished, and a backup a kill -9 interrupted is removed
  // (hub/backup/), before anything opens the stores.
  await prepareDataDir(config.dataDir, log.child({ module: 'backup' }));
  const { store, agents, recovery, watermark } = await openHubStores({
    dataDir: config.dataDir,
    policy: config.onCorruption,
    log: log.child({ module: 'recovery' }),
    restore: options.restore ?? restoreNewestBackup(log.child({ module: 'backup' })),
    taskOptions: {
      logger: log.child({ module: 'store' }),
      taskDefaults: {
        maxAttempts: config.maxAttempts,
        timeouts: { start_ms: config.acceptTimeoutMs, lease_ms: config.leaseMs, overall_ms: 3_600_000 },
        breakerMax: config.breakerMax,
      },
    },
  });
  const closeStores = async () => {
    await store.close();
    await agents.close();
    await watermark.close();
  };
  // After the stores: a restore may have put the backup's admin.token and vapid.json back. A
  // garbled key file stops the start (it is never replaced: every subscription depends on it).
  let admin: Awaited<ReturnType<typeof loadAdminToken>>;
  let hub: Hub;
  try {
    admin = await loadAdminToken(config.dataDir, config.adminToken);
    const vapid = await loadVapidKeys(config.dataDir);
    if (vapid.generated) log.info({ path: vapid.path }, 'push: VAPID keys made (back this file up with the data folder)');
    hub = await buildHub({ config, store, agents, adminToken: admin.token, adminTokenPath: admin.path, log, recovery, vapid: vapid.keys });
  } catch (err) {
    await closeStores();
    throw err;
  }
  if (recovery) {
    hub.bus.emit('store.recovered', recovery);
    await hub.services.audit.record('hub', `store.${recovery.action}`, 'tasks', recovery.problem).catch(() => undefined);
    // Acknowledged work is gone (the store lost writes, or a backup older than them came back):
    // writes wait for an operator to look (POST /v1/health/ack); reads, the feed and the
    // dashboard go on. A repair that lost nothing needs no one.
    if (recovery.lost) {
      hub.services.health.degrade({
        reason: 'restore_lost_data',
        message: `the store was ${recovery.action} at start and lacks changes the hub had acknowledged: ${recovery.problem}. Check GET /v1/health (recovery), then acknowledge with POST /v1/health/ack`,
        needsAck: true,
      });
    }
  }
  const address = await hub.app.listen({ host: config.host, port: config.port });
  const port = new URL(address).port;
  const close = async () => {
    await hub.close();
    await watermark.close();
  };
  return { ...hub, close, url: `http://${config.host}:${port}`, adminToken: admin.token, adminTokenPath: admin.path };
}
