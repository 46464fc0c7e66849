/**
 * The application services, built once per hub and handed to every edge (REST, the feed, the
 * CLI's in-process `up`; later MCP, ChatOps, the dashboard), which call them and never the store.
 */
import { AuditService } from './audit.js';
import { auditStoreOf } from '../store/audit-store.js';
import { Violations, VIOLATION_DEFAULTS } from '../edge/violations.js';
import { LimitsService } from './limits.js';
import type { RateLimits } from '../edge/rate-limits.js';
import { limitsStoreOf } from '../store/limits-store.js';
import { routingStoreOf } from '../store/routing-store.js';
import { Router } from '../routing/router.js';
import { RoutingPolicyService } from './routing-policy.js';
import { TokenService, type AdminTokenPlace } from './tokens.js';
import type { TokenStore } from '../store/token-store.js';
import { AgentPresence } from '../agents/presence.js';
import type { StoreRecovery } from '../../shared/rest.js';
import type { AgentRegistry } from '../agents/registry.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Agent as HttpsAgent } from 'node:https';
import { pino, type Logger } from 'pino';
import { PushSender } from '../push/sender.js';
import type { VapidKeys } from '../push/vapid.js';
import type { AgentStore } from '../store/agent-store.js';
import { pushStoreOf } from '../store/push-store.js';
import type { TaskStore } from '../store/task-store.js';
import { Access } from './access.js';
import type { AlertSettings } from '../alerts/rules.js';
import { AgentService } from './agents.js';
import { BackupService, type BackupSettings } from './backups.js';
import { AlertService } from './alerts.js';
import type { HubBus } from './bus.js';
import { HealthService } from './health.js';
import { JoinService } from './joining.js';
import { MetricsService } from './metrics.js';
import { PushService } from './push.js';
import { RetentionTracker } from './retention.js';
import { SelfService } from './self.js';
import { ReviewService } from './review.js';
import { TaskService, type ArchiveReader, type LiveOutput } from './tasks.js';
import { WorkflowService } from './workflow.js';
import { EscalationService } from './escalations.js';
import { escalationStoreOf } from '../store/escalation-store.js';
import { workflowAlertRules } from '../workflow/alert-rules.js';
import { repoSettingsOf } from '../workflow/repo-settings.js';
import { HistoryService, LIVE_MAX, MEMORY_MAX } from '../history/service.js';
import { ContextService, type ContextSettings } from '../context/service.js';
import { historyStoreOf } from '../store/history-store.js';
import { WorkerService } from './worker.js';
import { RepoService } from './repos.js';
import { repoStoreOf } from '../store/repo-store.js';
import { BudgetService } from './budgets.js';
import { UsageService } from './usage.js';
import { budgetStoreOf } from '../store/budget-store.js';

export interface Services {
  access: Access;
  tasks: TaskService;
  review: ReviewService;
  agents: AgentService;
  health: HealthService;
  joining: JoinService;
  self: SelfService;
  backups: BackupService;
  metrics: MetricsService;
  alerts: AlertService;
  push: PushService;
  /** Retention rounds since the hub started (the retention feature records them). */
  retention: RetentionTracker;
  /** The review workflow: questions, answers, approvals, rejections with feedback (docs/workflow.md). */
  workflow: WorkflowService;
  /** The escalation queue (docs/workflow.md). */
  escalations: EscalationService;
  /** Project history per repo (docs/context.md); `load()` it before serving. */
  history: HistoryService;
  /** The context assembler over the history (docs/context.md). */
  context: ContextService;
  /** An agent's own leases outside the sidecar socket (MCP worker tools, docs/mcp.md). */
  worker: WorkerService;
  /** Agents seen over MCP rather than a sidecar socket (the agent_offline alert reads it). */
  presence: AgentPresence;
  /** API tokens with roles, and the admin token's rotation (docs/security.md). */
  tokens: TokenService;
  /** Rate limits and their overrides (docs/security.md). */
  limits: LimitsService;
  /** Who changed what (docs/security.md, "Audit"). */
  audit: AuditService;
  /** The routing policy operators set (docs/routing.md); `load()` it before serving. */
  routing: RoutingPolicyService;
  /** Places tasks that name no executor or model by the policy (hub/routing/router.ts). */
  router: Router;
  /** The repo registry (docs/repos.md); `load()` it before serving. */
  repos: RepoService;
  /** Tokens and cost per day, repo, executor and model (docs/usage.md). */
  usage: UsageService;
  /** Daily budgets per repo, and which repos are at their limit (docs/usage.md); `load()` it before serving. */
  budgets: BudgetService;
}

export interface ServiceDeps {
  store: TaskStore;
  agents: AgentStore;
  registry: AgentRegistry;
  auth: Authenticator;
  progress: LiveOutput;
  bus: HubBus;
  now: () => number;
  /** Where backups go and how often (hub/config.ts); without it, backups go nowhere (`dataDir` ''). */
  backup?: BackupSettings;
  /** What the hub did at start about a damaged store; for /v1/health. */
  recovery?: StoreRecovery | null;
  /** The alert rules' settings (hub/alerts/settings.ts, from the config). */
  alertSettings: AlertSettings;
  /** Open feed sockets (a metric). @defaultValue none */
  feedSockets?: () => number;
  /** Per-agent metric series up to this many agents. @defaultValue 50 */
  perAgentMax?: number;
  /** Push notifications: the hub's VAPID keys, its VAPID subject, and (tests) a TLS agent for the push services. */
  push: { keys: VapidKeys; subject: string; agent?: HttpsAgent; log: Logger };
  /** Where `show` finds a task retention removed (hub/archive/). */
  archive?: ArchiveReader;
  /** Whether retention runs (its rounds then appear in the health report). @defaultValue false */
  retentionOn?: boolean;
  /** Guardian chains by repo, `repo=role+role` (hub config `guardianChains`). @defaultValue none */
  guardianChains?: readonly string[];
  /** Repos whose work waits for review (hub config `reviewRepos`; `*` for all). @defaultValue none */
  reviewRepos?: readonly string[];
  /** The context assembler's budgets and checkouts (hub config context*). @defaultValue 1500 tokens, none */
  context?: ContextSettings;
  /** History entries held in memory per repo (config historyMemory). @defaultValue 10,000 */
  historyMemory?: number;
  /** The API tokens' store (in the agents database) and where the admin token lives. */
  tokens: { store: TokenStore; admin: AdminTokenPlace };
  /** The request limits (hub/edge/rate-limits.ts), built from the config. */
  rateLimits: RateLimits;
  /** Refused frames and bodies per agent and address (hub/edge/violations.ts). @defaultValue a tracker with the defaults */
  violations?: Violations;
  /** Routing: how old an agent's report may be and still be trusted (ms), and its log. @defaultValue 60000, silent */
  routing?: { staleMs: number; log: Logger };
}

export function createServices(deps: ServiceDeps): Services {
  const { store, registry, bus, now } = deps;
  const violations = deps.violations ?? new Violations(VIOLATION_DEFAULTS, now);
  const audit = new AuditService(auditStoreOf(deps.agents), store, deps.tokens.store, now);
  const agents = new AgentService(deps.agents, registry, deps.auth, store, now, violations, audit);
  const metrics = new MetricsService(store, registry, deps.feedSockets ?? (() => 0), deps.perAgentMax ?? 50);
  const startedAt = now();
  const presence = new AgentPresence(now);
  const backups = new BackupService(deps.backup ?? { dataDir: '', everyMs: 0, keep: 3 }, store, deps.agents, bus, now);
  const pushStore = pushStoreOf(deps.agents);
  const sender = new PushSender({ store: pushStore, keys: deps.push.keys, subject: deps.push.subject, log: deps.push.log, now, onOutcome: (outcome) => metrics.prom.push(outcome), ...(deps.push.agent ? { agent: deps.push.agent } : {}) });
  const retention = new RetentionTracker();
  const escalations = new EscalationService(escalationStoreOf(deps.agents), now);
  const history = new HistoryService(historyStoreOf(deps.agents), now, LIVE_MAX, deps.historyMemory ?? MEMORY_MAX);
  const router = new Router(store, registry, { staleMs: deps.routing?.staleMs ?? 60_000, now }, deps.routing?.log ?? pino({ enabled: false }));
  const repos = new RepoService(repoStoreOf(deps.agents), bus, now, audit);
  const repoSettings = repoSettingsOf({ guardianChains: deps.guardianChains ?? [], reviewRepos: deps.reviewRepos ?? [] });
  const budgets = new BudgetService(budgetStoreOf(deps.agents), store, bus, now, audit);
  // A repo at its budget keeps routed tasks off paid candidates: they wait, or move on to local ones (docs/routing.md).
  router.setPaidBlocked((repo) => budgets.paidBlocked(repo));
  // A paused repo's routed tasks do not walk their chains while it is paused.
  router.setHold((repo) => repos.holdOf(repo));
  return {
    access: new Access(deps.auth),
    // The default repo first, so the repo's review settings apply to the repo it took.
    tasks: new TaskService(store, registry, deps.progress, deps.archive, (spec) => repoSettings(repos.withDefaultRepo(spec)), (repo) => repos.holdOf(repo), () => budgets.blockedRepos()),
    review: new ReviewService(store),
    agents,
    health: new HealthService(store, registry, bus, startedAt, now, deps.recovery ?? null, backups, deps.retentionOn ? retention : undefined),
    joining: new JoinService(deps.agents, registry, deps.auth, now),
    self: new SelfService(deps.agents, agents, deps.auth, store),
    backups,
    metrics,
    alerts: new AlertService({ store, agents: deps.agents, registry, history: metrics.history, bus, settings: deps.alertSettings, startedAt, now, extraRules: workflowAlertRules(() => escalations.open()), presence, violations, budgets: () => budgets.views() }),
    push: new PushService(pushStore, sender, deps.push.keys, now),
    retention,
    workflow: new WorkflowService(store),
    escalations,
    history,
    worker: new WorkerService(store, () => budgets.blockedRepos()),
    presence,
    tokens: new TokenService(deps.tokens.store, deps.auth, deps.tokens.admin, now, audit),
    limits: new LimitsService(deps.rateLimits, limitsStoreOf(deps.agents), now, audit),
    audit,
    router,
    routing: new RoutingPolicyService(router, routingStoreOf(deps.agents), bus, audit),
    repos,
    usage: new UsageService(store),
    budgets,
    context: new ContextService(history, deps.context ?? { budget: 1500, budgets: [], repoDirs: [] }, now),
  };
}
