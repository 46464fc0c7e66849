/**
 * Follows the bus into the metrics (hub/metrics/): each durable task change becomes counter and
 * histogram updates (task-facts.ts, no store scan), each store batch its size and fsync time
 * (the store's optional onBatch hook), and a timer closes the 10-second steps of the history.
 */
import type { MetricsService } from '../service/metrics.js';
import type { HubBus } from '../service/bus.js';
import type { TaskStore } from '../store/task-store.js';
import { taskFacts } from '../metrics/task-facts.js';
import { feature, onStop } from './feature.js';

export const metricsFeature = feature<{ metrics: MetricsService; bus: HubBus; store: TaskStore; now: () => number }>(
  'metrics',
  async (app, { metrics, bus, store, now }) => {
    const { prom, history } = metrics;
    const offs = [
      bus.on('task.changed', (change) => {
        const f = taskFacts(change);
        prom.taskChanged(f);
        if (f.created) history.count('created');
        if (f.completed) history.count('completed');
        if (f.failed) history.count('failed');
        if (f.deadLettered) history.count('dead_lettered');
        if (f.assignMs !== null) history.assigned(f.assignMs);
      }),
      bus.on('alert.changed', (alert) => {
        if (alert.state === 'active') prom.alert(alert.rule, alert.severity);
      }),
      store.onBatch?.((ops, ms) => prom.batch(ops, ms)) ?? (() => undefined),
    ];
    const timer = setInterval(() => void metrics.closeStep(now()).catch(() => undefined), history.stepMs);
    timer.unref();
    onStop(app, () => {
      clearInterval(timer);
      for (const off of offs) off();
    });
  },
);
