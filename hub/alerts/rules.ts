/**
 * The alert rules: each a pure function from a snapshot of the hub's state (hub/alerts/snapshot.ts
 * builds it, cheaply, at each check) and the settings to what is wrong now, one finding per
 * subject. Rules keep no state and read no clock but `snapshot.now`: firing, cooldown, repeats
 * and clearing are the engine's (hub/alerts/engine.ts), so each rule is tested by feeding it
 * snapshots.
 *
 * Extension point: a rule is an `AlertRuleDef`; the review workflow's circuit breaker and
 * escalations (not on this branch) become two more defs reading a field they add to the
 * snapshot, passed to the engine with the others (docs/alerts.md).
 */
import type { AlertRule, AlertSeverity } from '../../shared/alerts.js';
import type { BudgetView } from '../../shared/usage.js';
import type { StepCounts } from '../metrics/history.js';

/** What the backups report (hub/features/backup-signals.ts feeds it through AlertService.backupState). */
export interface BackupState {
  last_ok_at: number | null;
  last_failed_at: number | null;
  /** Error of the last failed backup, if known. */
  last_error?: string | null;
  /** The backup interval. */
  every_ms: number;
}

export interface AlertSnapshot {
  now: number;
  /** When the hub started. */
  startedAt: number;
  /** Connected agents now. */
  online: number;
  /** Since when no agent has been connected (the hub's start if none ever was); null while one is. */
  noneOnlineSince: number | null;
  /** Agents disconnected for violations three times or more in the last hour. */
  disconnected: Array<{ id: string; count: number }>;
  /** Connected agents holding nothing, with since when (the agent view's `idle_since`). */
  idle: Array<{ id: string; since: number }>;
  /** Known agents not connected: registered or seen before, with when they were last seen (or the hub's start). */
  offline: Array<{ id: string; since: number }>;
  /** Total queue depth at the last checks, oldest first (this check last). */
  queueDepths: number[];
  /** The oldest queued tasks of each kind that no connected agent can run, with why. */
  unplaceable: Array<{ task_id: string; queued_at: number; reason: string }>;
  /** Counts within the settings' window (the metrics history). */
  window: StepCounts;
  store: { healthy: boolean };
  backup: BackupState | null;
  /** Executors gone from the whole connected fleet (the executor watch's alerts). */
  executorsGone: Array<{ executor: string; message: string }>;
  /** Every repo's daily budget with today's spend (BudgetService.views(), in memory). */
  budgets: BudgetView[];
}

export interface AlertSettings {
  checkMs: number;
  cooldownMs: number;
  repeatMs: number;
  noAgentMs: number;
  queueGrowingChecks: number;
  unplaceableMs: number;
  failureRatePct: number;
  failureRateMin: number;
  windowMs: number;
  deadLetterCount: number;
  agentOfflineMs: number;
  agentIdleMs: number;
  backupGraceMs: number;
  /** Severity per rule, overriding the rule's default. */
  severity: Partial<Record<string, AlertSeverity>>;
  off: ReadonlySet<string>;
  historyMax: number;
}

/** What is wrong now, for one subject. `key` names the subject within the rule ('fleet', a task id...). */
export interface Finding {
  key: string;
  title: string;
  message: string;
  subject: { task_id?: string; agent_id?: string; executor?: string; repo?: string };
  url: string;
}

export interface AlertRuleDef {
  rule: AlertRule | (string & {});
  severity: AlertSeverity;
  evaluate(s: AlertSnapshot, cfg: AlertSettings): Finding[];
}

const FLEET = (title: string, message: string, url = '/#/alerts'): Finding[] => [{ key: 'fleet', title, message, subject: {}, url }];
const minutes = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);

export const noAgentOnline: AlertRuleDef = {
  rule: 'no_agent_online',
  severity: 'critical',
  evaluate: (s, cfg) =>
    s.online === 0 && s.noneOnlineSince !== null && s.now - s.noneOnlineSince >= cfg.noAgentMs
      ? FLEET('No agent online', `no agent has been connected for ${minutes(s.now - s.noneOnlineSince)}: queued work waits. Start a sidecar (switchyard sidecar) or check the hosts.`, '/#/agents')
      : [],
};

export const queueGrowing: AlertRuleDef = {
  rule: 'queue_growing',
  severity: 'warning',
  evaluate: (s, cfg) => {
    const d = s.queueDepths.slice(-(cfg.queueGrowingChecks + 1));
    if (d.length < cfg.queueGrowingChecks + 1) return [];
    for (let i = 1; i < d.length; i++) if (d[i]! <= d[i - 1]!) return [];
    return FLEET('Queue growing', `the queue grew at each of the last ${cfg.queueGrowingChecks} checks (${d[0]} -> ${d.at(-1)} tasks): the fleet does not keep up.`, '/#/tasks');
  },
};

export const taskUnplaceable: AlertRuleDef = {
  rule: 'task_unplaceable',
  severity: 'warning',
  evaluate: (s, cfg) =>
    s.unplaceable
      .filter((t) => s.now - t.queued_at >= cfg.unplaceableMs)
      .map((t) => ({
        key: t.task_id,
        title: 'Task cannot be placed',
        message: `task ${t.task_id} has waited ${minutes(s.now - t.queued_at)}: ${t.reason}`,
        subject: { task_id: t.task_id },
        url: `/#/tasks/${encodeURIComponent(t.task_id)}`,
      })),
};

export const failureRate: AlertRuleDef = {
  rule: 'failure_rate',
  severity: 'warning',
  evaluate: (s, cfg) => {
    const ended = s.window.completed + s.window.failed;
    if (ended < cfg.failureRateMin) return [];
    const pct = (100 * s.window.failed) / ended;
    return pct >= cfg.failureRatePct
      ? FLEET('Failure rate high', `${Math.round(pct)}% of the ${ended} attempts that ended in the last ${minutes(cfg.windowMs)} failed (threshold ${cfg.failureRatePct}%).`, '/#/tasks')
      : [];
  },
};

export const deadLetterGrowth: AlertRuleDef = {
  rule: 'dead_letter_growth',
  severity: 'warning',
  evaluate: (s, cfg) =>
    s.window.dead_lettered >= cfg.deadLetterCount
      ? FLEET('Tasks dead-lettered', `${s.window.dead_lettered} task(s) dead-lettered in the last ${minutes(cfg.windowMs)}: retry or cancel them from the dead letter view.`, '/#/dead-letter')
      : [],
};

export const agentOffline: AlertRuleDef = {
  rule: 'agent_offline',
  severity: 'warning',
  evaluate: (s, cfg) =>
    s.offline
      .filter((a) => s.now - a.since >= cfg.agentOfflineMs)
      .map((a) => ({
        key: a.id,
        title: 'Agent offline',
        message: `agent ${a.id} has been offline for ${minutes(s.now - a.since)}.`,
        subject: { agent_id: a.id },
        url: `/#/agents/${encodeURIComponent(a.id)}`,
      })),
};

/** An agent idle past the bound while work waits: it cannot run what is queued, or something is stuck. */
export const agentIdle: AlertRuleDef = {
  rule: 'agent_idle',
  severity: 'warning',
  evaluate: (s, cfg) => {
    const waiting = s.queueDepths[s.queueDepths.length - 1] ?? 0;
    if (waiting === 0) return [];
    return s.idle
      .filter((a) => s.now - a.since >= cfg.agentIdleMs)
      .map((a) => ({
        key: a.id,
        title: 'Agent idle while work waits',
        message: `agent ${a.id} has been idle for ${minutes(s.now - a.since)} while ${waiting} task(s) are queued: \`switchyard task show ID\` on a queued task says what it waits for (a capability, repo, executor or model this agent lacks).`,
        subject: { agent_id: a.id },
        url: `/#/agents/${encodeURIComponent(a.id)}`,
      }));
  },
};

/** A sidecar that keeps sending refused frames: disconnected again and again (docs/security.md). */
export const agentDisconnected: AlertRuleDef = {
  rule: 'agent_disconnected',
  severity: 'warning',
  evaluate: (s) =>
    s.disconnected.map((a) => ({
      key: a.id,
      title: 'Agent disconnected repeatedly',
      message: `agent ${a.id} was disconnected ${a.count} times in the last hour for refused frames: \`switchyard agent show ${a.id}\` names the last one; its sidecar may be older or newer than the hub, or broken.`,
      subject: { agent_id: a.id },
      url: `/#/agents/${encodeURIComponent(a.id)}`,
    })),
};

export const storeDegraded: AlertRuleDef = {
  rule: 'store_degraded',
  severity: 'critical',
  evaluate: (s) =>
    s.store.healthy ? [] : FLEET('Task store degraded', 'the task store takes no writes (degraded mode; GET /v1/health says why): it leaves by itself once writes succeed again (a full disk freed), or on POST /v1/health/ack for a hold that waits for an operator.'),
};

export const backupFailed: AlertRuleDef = {
  rule: 'backup_failed',
  severity: 'critical',
  evaluate: (s) => {
    const b = s.backup;
    if (!b || b.last_failed_at === null || (b.last_ok_at !== null && b.last_ok_at >= b.last_failed_at)) return [];
    return FLEET('Backup failed', `the last backup failed${b.last_error ? `: ${b.last_error}` : ''}; no good backup since it.`);
  },
};

export const backupOverdue: AlertRuleDef = {
  rule: 'backup_overdue',
  severity: 'warning',
  evaluate: (s, cfg) => {
    const b = s.backup;
    // No schedule (every 0): backups are on demand, and none is ever due.
    if (!b || b.every_ms <= 0) return [];
    const since = b.last_ok_at ?? s.startedAt;
    return s.now - since > b.every_ms + cfg.backupGraceMs
      ? FLEET('Backup overdue', b.last_ok_at === null ? `no good backup since the hub started ${minutes(s.now - since)} ago.` : `the last good backup is ${minutes(s.now - since)} old (every ${minutes(b.every_ms)}).`)
      : [];
  },
};

export const executorGone: AlertRuleDef = {
  rule: 'executor_gone',
  severity: 'warning',
  evaluate: (s) =>
    s.executorsGone.map((e) => ({ key: e.executor, title: `Executor ${e.executor} unavailable`, message: e.message, subject: { executor: e.executor }, url: '/#/agents' })),
};

/** Share of a daily budget at which budget_warning fires (percent, as `BudgetView.percent`). */
export const BUDGET_WARNING_PCT = 80;

/** What a repo spent today against its limits: "$1.60 of $2/day, 900 of 1000 tokens/day (80%)". */
function spentOf(b: BudgetView): string {
  const cost = b.cost_usd_per_day !== null ? `$${b.spent_cost_usd.toFixed(2)} of $${b.cost_usd_per_day}/day` : '';
  const tokens = b.tokens_per_day !== null ? `${b.spent_tokens} of ${b.tokens_per_day} tokens/day` : '';
  return `${[cost, tokens].filter(Boolean).join(', ')} (${b.percent}%)`;
}

/**
 * One finding per repo whose budget `holds`; the key names the UTC day, so an alert is raised at
 * most once per repo and day (a new day's spend starts at zero and clears it).
 */
const budgetRule = (rule: string, severity: AlertSeverity, holds: (b: BudgetView) => boolean, title: string, says: (b: BudgetView) => string): AlertRuleDef => ({
  rule,
  severity,
  evaluate: (s) =>
    s.budgets
      .filter(holds)
      .map((b) => ({ key: `${b.repo}:${b.day}`, title: `${title}: ${b.repo}`, message: says(b), subject: { repo: b.repo }, url: '/#/alerts' })),
});

export const budgetWarning = budgetRule(
  'budget_warning',
  'warning',
  (b) => b.percent >= BUDGET_WARNING_PCT,
  'Budget nearly spent',
  (b) => `repo ${b.repo} has spent ${spentOf(b)} of its daily budget today (${b.day}, UTC); at 100% its tasks ${b.on_limit === 'wait' ? 'wait for' : 'run only on local executors until'} the next day. \`switchyard budget list\` shows it.`,
);

export const budgetExhausted = budgetRule(
  'budget_exhausted',
  'critical',
  (b) => b.blocked,
  'Budget exhausted',
  (b) =>
    `repo ${b.repo} has spent ${spentOf(b)} of its daily budget today (${b.day}, UTC): its tasks start on no paid executor ${b.on_limit === 'wait' ? '(they wait)' : '(they run on local executors only)'} until the next UTC day, or until the budget is raised (\`switchyard budget set ${b.repo} …\`) or removed.`,
);

export const RULES: readonly AlertRuleDef[] = [
  noAgentOnline,
  queueGrowing,
  taskUnplaceable,
  failureRate,
  deadLetterGrowth,
  agentOffline,
  agentIdle,
  agentDisconnected,
  storeDegraded,
  backupFailed,
  backupOverdue,
  executorGone,
  budgetWarning,
  budgetExhausted,
];
