/** Alerts when an executor is gone from the whole connected fleet (or back): to the hub log and the bus. */
import type { Logger } from 'pino';
import { ExecutorWatch } from '../agents/executor-watch.js';
import type { AgentRegistry } from '../agents/registry.js';
import type { HubBus } from '../service/bus.js';
import { feature, onStop } from './feature.js';

export const executorWatchFeature = feature<{ registry: AgentRegistry; bus: HubBus; log: Logger; now: () => number }>(
  'executor-watch',
  async (app, { registry, bus, log, now }) => {
    const watch = new ExecutorWatch(
      registry,
      (alert) => {
        if (alert.code === 'EXECUTOR_GONE') log.warn({ alert }, alert.message);
        else log.info({ alert }, alert.message);
        bus.emit('alert', alert);
      },
      now,
    );
    onStop(app, bus.on('agent.changed', (agent) => watch.changed(agent)));
  },
);
