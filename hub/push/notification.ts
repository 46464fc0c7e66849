/**
 * What an alert becomes on an operator's phone, and who gets it. Pure: no store, no network.
 *
 * The alert type here is the part of `alert.changed` (the alerts engine's Alert, shared/alerts.ts)
 * that push needs; any Alert has these fields.
 */

export interface PushableAlert {
  id: string;
  rule: string;
  severity: 'info' | 'warning' | 'critical';
  state: 'active' | 'acknowledged' | 'cleared';
  title: string;
  message: string;
  /** A dashboard path to open, e.g. '/#/tasks/<id>'. */
  url: string;
  /** Times fired: 1 on the first fire, more on each repeat. */
  count: number;
}

/** The encrypted payload sw.js reads (dashboard/sw.js). */
export interface PushPayload {
  title: string;
  body: string;
  url: string;
  /** Notifications with one tag replace each other: a repeat of an alert is one notification, updated. */
  tag: string;
  alert_id: string | null;
}

/**
 * Whether an alert change is worth a notification: an active alert on its first fire, and each
 * repeat of a critical one (critical alerts repeat until acknowledged; lesser ones notify once).
 * An acknowledgement or a clear notifies nobody: the operator did it, or it went away.
 */
export function shouldNotify(alert: PushableAlert): boolean {
  return alert.state === 'active' && (alert.count <= 1 || alert.severity === 'critical');
}

/** Whether a subscription that chose `kinds` (rules or severities; [] = all) wants this alert. */
export function wants(kinds: readonly string[], alert: Pick<PushableAlert, 'rule' | 'severity'>): boolean {
  return kinds.length === 0 || kinds.includes(alert.rule) || kinds.includes(alert.severity);
}

export function alertPayload(alert: PushableAlert): PushPayload {
  const repeat = alert.count > 1 ? ` (×${alert.count})` : '';
  return {
    title: `${alert.severity === 'critical' ? 'CRITICAL: ' : ''}${alert.title}${repeat}`,
    body: alert.message,
    // Only a dashboard path: a notification must not open another site (sw.js checks again).
    url: alert.url.startsWith('/') && !alert.url.startsWith('//') ? alert.url : '/#/alerts',
    tag: `alert-${alert.id}`,
    alert_id: alert.id,
  };
}

/** `switchyard notify test`'s notification. */
export function testPayload(now: number): PushPayload {
  return { title: 'Switchyard test notification', body: `Sent at ${new Date(now).toISOString()}: push notifications reach this device.`, url: '/#/alerts', tag: 'switchyard-test', alert_id: null };
}
