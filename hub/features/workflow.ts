/**
 * The review workflow's feature (docs/workflow.md): follows the bus's task changes to raise and
 * resolve escalations (hub/workflow/escalations.ts), runs the watchdog on a timer
 * (hub/workflow/watchdog.ts: unanswered questions, untaken delegations), and runs an alert check
 * as soon as an escalation changes, so that an opened circuit breaker alerts at once rather than
 * at the next timed check.
 */
import type { Logger } from 'pino';
import type { Task } from '../../shared/task.js';
import type { AlertService } from '../service/alerts.js';
import type { HubBus } from '../service/bus.js';
import type { EscalationService } from '../service/escalations.js';
import type { TaskStore } from '../store/task-store.js';
import { decideEscalations } from '../workflow/escalations.js';
import { watch, type Tracked, type WatchdogSettings } from '../workflow/watchdog.js';
import { feature } from './feature.js';

export interface WorkflowFeatureOptions {
  escalations: EscalationService;
  alerts: AlertService;
  store: TaskStore;
  bus: HubBus;
  log: Logger;
  now: () => number;
  watchdog: WatchdogSettings;
}

export const workflowFeature = feature<WorkflowFeatureOptions>('workflow', async (app, o) => {
  const { escalations, alerts, store, bus, log, now } = o;
  await escalations.load();
  /** Blocked tasks and delegated queued tasks: what the watchdog looks at (no scan per tick). */
  const tracked = new Map<string, Tracked>();
  const track = (task: Task) => {
    const watched = task.status === 'blocked' || (task.status === 'queued' && (task.delegate !== null || tracked.get(task.id)?.undelegatedAt != null));
    if (!watched) tracked.delete(task.id);
    else tracked.set(task.id, { task, undelegatedAt: tracked.get(task.id)?.undelegatedAt ?? null });
  };
  for (const status of ['blocked', 'queued'] as const) {
    for (let after: string | undefined, page; (page = await store.list({ status, limit: 500, ...(after ? { after } : {}) })); after = page.next) {
      for (const t of page.items) track(t);
      if (!page.next) break;
    }
  }
  let checking: Promise<unknown> | null = null;
  escalations.onChange = (e) => {
    log.info({ escalation: { id: e.id, kind: e.kind, priority: e.priority, task_id: e.task_id, status: e.status } }, `escalation ${e.status}: ${e.title}`);
    checking ??= alerts.check().catch((err: unknown) => log.error({ err }, 'an alert check after an escalation failed')).finally(() => (checking = null));
  };
  const failed = (err: unknown) => log.error({ err }, 'an escalation could not be written; the next change or watchdog tick tries again');
  const off = bus.on('task.changed', ({ task, before, event }) => {
    track(task);
    const d = decideEscalations(before, task, event.actor);
    for (const r of d.resolve) void escalations.resolveFor(task.id, r.kind, event.actor || 'hub', r.resolution).catch(failed);
    for (const r of d.raise) void escalations.raise(task.id, r).catch(failed);
  });
  const tick = () => {
    for (const action of watch(tracked.values(), now(), o.watchdog)) {
      if (action.kind === 'raise') void escalations.raise(action.taskId, action.raise).catch(failed);
      else {
        const entry = tracked.get(action.taskId);
        if (entry) entry.undelegatedAt = now();
        log.info({ task_id: action.taskId }, 'watchdog: a delegated task was not taken in time; any able agent may run it now');
        void store.undelegate(action.taskId, 'watchdog').catch(failed);
      }
    }
  };
  const every = Math.max(50, Math.min(60_000, Math.floor(Math.min(o.watchdog.questionMs, o.watchdog.delegateMs) / 4)));
  const timer = setInterval(tick, every);
  timer.unref();
  app.addHook('preClose', async () => {
    clearInterval(timer);
    off();
    escalations.onChange = () => undefined;
    await checking;
  });
});
