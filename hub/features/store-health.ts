/**
 * Notices when the task store stops taking writes (or takes them again) and says so: the bus
 * (`store.health`, so the live feed), and the hub log. The store keeps no listener for its own
 * failure, so its state is read every second (one boolean), and by every health report.
 */
import type { Logger } from 'pino';
import type { HubBus } from '../service/bus.js';
import type { HealthService } from '../service/health.js';
import { feature, onStop } from './feature.js';

export const storeHealthFeature = feature<{ health: HealthService; bus: HubBus; log: Logger; intervalMs?: number }>(
  'store-health',
  async (app, { health, bus, log, intervalMs = 1000 }) => {
    const off = bus.on('store.health', ({ healthy }) => {
      if (healthy) log.info('the task store takes writes again');
      else log.error('the task store stopped taking writes: the hub takes no work until it is restarted (GET /v1/health says degraded)');
    });
    const timer = setInterval(() => health.check(), intervalMs);
    timer.unref();
    onStop(app, () => {
      clearInterval(timer);
      off();
    });
  },
);
