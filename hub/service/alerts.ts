/**
 * Alerts, as operators see and steer them: list (active, acknowledged, history), acknowledge;
 * and the checks the alerts feature runs on a timer. The engine (hub/alerts/engine.ts) decides
 * and stores; this service authorizes, builds each check's snapshot, and tells the bus
 * (`alert.changed`), which the feed, push and the log follow.
 */
import type { AgentPresence } from '../agents/presence.js';
import type { Violations } from '../edge/violations.js';
import type { Alert, AlertListQuery } from '../../shared/alerts.js';
import type { ExecutorAlert } from '../../shared/feed.js';
import type { BudgetView } from '../../shared/usage.js';
import type { AgentRegistry } from '../agents/registry.js';
import { AlertEngine } from '../alerts/engine.js';
import { RULES, type AlertRuleDef, type AlertSettings, type BackupState } from '../alerts/rules.js';
import { SnapshotSource } from '../alerts/snapshot.js';
import type { MetricsHistory } from '../metrics/history.js';
import type { AgentStore } from '../store/agent-store.js';
import { alertStoreOf } from '../store/alert-store.js';
import type { TaskStore } from '../store/task-store.js';
import { Access, type Principal } from './access.js';
import type { HubBus } from './bus.js';

export interface AlertServiceDeps {
  store: TaskStore;
  agents: AgentStore;
  registry: AgentRegistry;
  history: MetricsHistory;
  bus: HubBus;
  settings: AlertSettings;
  startedAt: number;
  now: () => number;
  /** Rules beyond the built-in ones (the review workflow's, later). @defaultValue none */
  extraRules?: readonly AlertRuleDef[];
  /** Agents that work over MCP (no socket): present from their last call. */
  presence: AgentPresence;
  violations?: Pick<Violations, 'repeatOffenders'>;
  /** The budgets with today's spend, for budget_warning and budget_exhausted. @defaultValue none */
  budgets?: () => BudgetView[];
}

export class AlertService {
  private readonly engine: AlertEngine;
  private readonly source: SnapshotSource;
  private loaded: Promise<void> | null = null;

  constructor(private readonly deps: AlertServiceDeps) {
    this.engine = new AlertEngine(alertStoreOf(deps.agents), [...RULES, ...(deps.extraRules ?? [])], deps.settings, (alert) => deps.bus.emit('alert.changed', alert));
    this.source = new SnapshotSource({ registry: deps.registry, store: deps.store, history: deps.history, startedAt: deps.startedAt, presence: deps.presence, ...(deps.violations ? { violations: deps.violations } : {}), ...(deps.budgets ? { budgets: deps.budgets } : {}) }, deps.settings);
  }

  /** Reads the stored alerts; before the first check (the feature awaits it). */
  load(): Promise<void> {
    this.loaded ??= this.engine.load();
    return this.loaded;
  }

  list(caller: Principal, query: AlertListQuery = {}): Alert[] {
    Access.authorize(caller, 'alerts.read');
    return this.engine.list(query.state ?? 'active', query.limit ?? 100);
  }

  async ack(caller: Principal, id: string): Promise<Alert> {
    Access.authorize(caller, 'alerts.write');
    await this.load();
    return this.engine.ack(id, caller.actor, this.deps.now());
  }

  /** One evaluation of every rule; resolves with the alerts that changed. */
  async check(): Promise<Alert[]> {
    await this.load();
    return this.engine.check(await this.source.take(this.deps.now()));
  }

  /** Refreshes the registered agents (for agent_offline of agents not seen since the hub started). */
  async refreshRegistered(): Promise<void> {
    this.source.setRegistered((await this.deps.agents.list()).map((r) => r.id));
  }

  /** Whether the last refresh saw this agent registered. */
  isRegistered(id: string): boolean {
    return this.source.isRegistered(id);
  }

  /** The executor watch's alerts, folded in as rule executor_gone at the next check. */
  executorAlert(alert: ExecutorAlert): void {
    this.source.executorAlert(alert);
  }

  /**
   * The backups' state, at start and after each backup (hub/features/backup-signals.ts). Until
   * something calls it, backup_failed and backup_overdue stay idle.
   */
  backupState(state: BackupState | null): void {
    this.source.setBackup(state);
  }
}
