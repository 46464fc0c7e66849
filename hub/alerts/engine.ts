/**
 * The alerts engine: turns the rules' findings (hub/alerts/rules.ts) into alerts with a life.
 *  - fire: a finding with no open alert for its rule and subject opens one (state active),
 *    unless the same rule and subject cleared less than `cooldownMs` ago;
 *  - repeat: a critical alert still active (not acknowledged) is sent again every `repeatMs`;
 *  - acknowledge: an operator's ack stops the repeats; the alert stays until its condition clears;
 *  - clear: an open alert whose finding is gone is cleared and kept in the history (bounded).
 * Every change is written durably (AlertStore) before it is announced, so a restart neither
 * fires again what was open or cooling down nor forgets an ack. Checks and acks run one at a
 * time (a promise chain): a check never interleaves with an ack of the same alert.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Alert, AlertSeverity } from '../../shared/alerts.js';
import type { AlertStore } from '../store/alert-store.js';
import type { AlertRuleDef, AlertSettings, AlertSnapshot, Finding } from './rules.js';

const subjectKey = (rule: string, key: string) => `${rule}\u0000${key}`;

export class AlertEngine {
  /** Open alerts (active or acknowledged) by rule and subject. */
  private readonly open = new Map<string, Alert>();
  /** Cleared alerts, oldest first (bounded by historyMax). */
  private history: Alert[] = [];
  /** When each rule and subject last cleared: the cooldown. */
  private readonly clearedAt = new Map<string, number>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: AlertStore,
    private readonly rules: readonly AlertRuleDef[],
    private readonly settings: AlertSettings,
    /** Told about each durable change (fired, repeated, acknowledged, cleared). */
    private readonly changed: (alert: Alert) => void,
  ) {}

  /** Reads the stored alerts (once, before the first check). */
  async load(): Promise<void> {
    const all = await this.store.load();
    for (const a of all) {
      const k = subjectKey(a.rule, keyOf(a));
      if (a.state === 'cleared') {
        this.history.push(a);
        if ((this.clearedAt.get(k) ?? 0) < (a.cleared_at ?? 0)) this.clearedAt.set(k, a.cleared_at ?? 0);
      } else this.open.set(k, a);
    }
    this.history.sort((a, b) => (a.cleared_at ?? 0) - (b.cleared_at ?? 0));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Evaluates every rule on the snapshot; resolves with the alerts that changed (durable, announced). */
  check(snapshot: AlertSnapshot): Promise<Alert[]> {
    return this.serial(async () => {
      const now = snapshot.now;
      const changes: Alert[] = [];
      for (const def of this.rules) {
        if (this.settings.off.has(def.rule)) continue;
        const severity = this.settings.severity[def.rule] ?? def.severity;
        const seen = new Set<string>();
        for (const f of def.evaluate(snapshot, this.settings)) {
          const k = subjectKey(def.rule, f.key);
          seen.add(k);
          const open = this.open.get(k);
          if (open) {
            if (open.state === 'active' && open.severity === 'critical' && now - open.last_fired_at >= this.settings.repeatMs) {
              changes.push({ ...open, message: f.message, last_fired_at: now, count: open.count + 1 });
            }
            continue;
          }
          const cleared = this.clearedAt.get(k);
          if (cleared !== undefined && now - cleared < this.settings.cooldownMs) continue;
          changes.push(fire(def.rule, severity, f, now));
        }
        for (const [k, a] of this.open) {
          if (a.rule === def.rule && !seen.has(k)) changes.push({ ...a, state: 'cleared', cleared_at: now });
        }
      }
      // Rules turned off clear what they had open.
      for (const a of this.open.values()) if (this.settings.off.has(a.rule)) changes.push({ ...a, state: 'cleared', cleared_at: now });
      return this.commit(changes);
    });
  }

  /** Acknowledges an open alert (idempotent for an acknowledged one); ALERT_NOT_FOUND otherwise. */
  ack(id: string, by: string, now: number): Promise<Alert> {
    return this.serial(async () => {
      const open = [...this.open.values()].find((a) => a.id === id);
      if (!open) {
        const old = this.history.find((a) => a.id === id);
        if (old) return old;
        throw new SwitchyardError('ALERT_NOT_FOUND', `no alert ${id}: list them with switchyard alerts --all`, { alert_id: id });
      }
      if (open.state === 'acknowledged') return open;
      const [acked] = await this.commit([{ ...open, state: 'acknowledged', acked_at: now, acked_by: by }]);
      return acked!;
    });
  }

  /** Alerts by state, newest first; 'all' lists open ones then the history. */
  list(state: Alert['state'] | 'all', limit: number): Alert[] {
    const open = [...this.open.values()].sort((a, b) => b.last_fired_at - a.last_fired_at);
    const history = [...this.history].reverse();
    const all = state === 'all' ? [...open, ...history] : state === 'cleared' ? history : open.filter((a) => a.state === state);
    return all.slice(0, limit);
  }

  /** Writes the changes (and drops history beyond its bound) in one batch, then applies and announces them. */
  private async commit(changes: Alert[]): Promise<Alert[]> {
    if (changes.length === 0) return [];
    const cleared = changes.filter((a) => a.state === 'cleared');
    const over = Math.max(0, this.history.length + cleared.length - this.settings.historyMax);
    const dropped = this.history.slice(0, over);
    await this.store.write(changes, dropped.map((a) => a.id));
    this.history = this.history.slice(over);
    for (const a of changes) {
      const k = subjectKey(a.rule, keyOf(a));
      if (a.state === 'cleared') {
        this.open.delete(k);
        this.history.push(a);
        this.clearedAt.set(k, a.cleared_at!);
      } else this.open.set(k, a);
    }
    for (const a of changes) this.changed(a);
    return changes;
  }
}

/** The subject key an alert was opened for: its id is `<rule>:<key>:<fired_at base36>`. */
function keyOf(a: Alert): string {
  const rest = a.id.slice(a.rule.length + 1);
  return rest.slice(0, rest.lastIndexOf(':'));
}

function fire(rule: string, severity: AlertSeverity, f: Finding, now: number): Alert {
  return {
    id: `${rule}:${f.key}:${now.toString(36)}`,
    rule,
    severity,
    state: 'active',
    title: f.title,
    message: f.message,
    subject: f.subject,
    fired_at: now,
    last_fired_at: now,
    count: 1,
    acked_at: null,
    acked_by: null,
    cleared_at: null,
    url: f.url,
  };
}
