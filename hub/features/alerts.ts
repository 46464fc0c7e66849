/**
 * Runs the alert rules on a timer (config `alertCheckMs`) and says what changed: the hub log
 * (error for critical, warn for warning, info otherwise and for acks and clears). The bus's
 * `alert.changed` reaches the live feed (hub/features/feed.ts) and push (the push feature).
 * The executor watch's alerts are folded in as rule executor_gone.
 */
import type { Logger } from 'pino';
import type { AlertService } from '../service/alerts.js';
import type { HubBus } from '../service/bus.js';
import { feature } from './feature.js';

/** Registered agents are re-read this often (agent_offline for agents not seen since start). */
const REGISTERED_MS = 60_000;

export const alertsFeature = feature<{ alerts: AlertService; bus: HubBus; log: Logger; checkMs: number }>(
  'alerts',
  async (app, { alerts, bus, log, checkMs }) => {
    await alerts.load();
    await alerts.refreshRegistered();
    let refreshing = false;
    const refresh = () => {
      if (refreshing) return;
      refreshing = true;
      void alerts
        .refreshRegistered()
        .catch(() => undefined)
        .finally(() => {
          refreshing = false;
        });
    };
    const offs = [
      bus.on('alert', (a) => alerts.executorAlert(a)),
      // An agent registered since the last refresh, or one that disconnected (perhaps removed):
      // read the (small) table again now, one read at a time.
      bus.on('agent.changed', (a) => {
        if (!alerts.isRegistered(a.id) || a.conn === null) refresh();
      }),
      bus.on('alert.changed', (alert) => {
        const fields = { alert: { id: alert.id, rule: alert.rule, severity: alert.severity, state: alert.state, count: alert.count, subject: alert.subject } };
        if (alert.state !== 'active') log.info(fields, `alert ${alert.state}: ${alert.title}`);
        else if (alert.severity === 'critical') log.error(fields, `${alert.title}: ${alert.message}`);
        else if (alert.severity === 'warning') log.warn(fields, `${alert.title}: ${alert.message}`);
        else log.info(fields, `${alert.title}: ${alert.message}`);
      }),
    ];
    let running: Promise<void> | null = null;
    const check = () => {
      if (running) return; // a slow check (a busy disk) is not stacked behind itself
      running = alerts
        .check()
        .then(
          () => undefined,
          (err: unknown) => log.error({ err }, 'an alert check failed; the next one runs as usual'),
        )
        .finally(() => {
          running = null;
        });
    };
    const timer = setInterval(check, checkMs);
    timer.unref();
    const registered = setInterval(refresh, REGISTERED_MS);
    registered.unref();
    // A check in flight finishes before the stores close (its write would fail after).
    app.addHook('preClose', async () => {
      clearInterval(timer);
      clearInterval(registered);
      for (const off of offs) off();
      await running;
    });
  },
);
