/** The rules' settings from the hub config (hub/config.ts, `alert*`): one place that maps them. */
import type { AlertSeverity } from '../../shared/alerts.js';
import type { HubConfig } from '../config.js';
import type { AlertSettings } from './rules.js';

export function alertSettingsOf(c: Readonly<HubConfig>): AlertSettings {
  const severity: Partial<Record<string, AlertSeverity>> = {};
  for (const pair of c.alertSeverity) {
    const [rule, level] = pair.split('=') as [string, AlertSeverity];
    severity[rule] = level;
  }
  return {
    checkMs: c.alertCheckMs,
    cooldownMs: c.alertCooldownMs,
    repeatMs: c.alertRepeatMs,
    noAgentMs: c.alertNoAgentMs,
    queueGrowingChecks: c.alertQueueGrowingChecks,
    unplaceableMs: c.alertUnplaceableMs,
    failureRatePct: c.alertFailureRatePct,
    failureRateMin: c.alertFailureRateMin,
    windowMs: c.alertWindowMs,
    deadLetterCount: c.alertDeadLetterCount,
    agentOfflineMs: c.alertAgentOfflineMs,
    agentIdleMs: c.alertAgentIdleMs,
    backupGraceMs: c.alertBackupGraceMs,
    severity,
    off: new Set(c.alertOff),
    historyMax: c.alertHistory,
  };
}
