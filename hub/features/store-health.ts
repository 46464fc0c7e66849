/**
 * Notices when the task store enters or leaves degraded mode and says so: the bus
 * (`store.health`, so the live feed), and the hub log. The store tells the health service at
 * once (HealthService.watch); its state is also read every second (one boolean), and by every
 * health report, as a backstop.
 */
import type { Logger } from 'pino';
import type { HubBus } from '../service/bus.js';
import type { HealthService } from '../service/health.js';
import { feature, onStop } from './feature.js';

export const storeHealthFeature = feature<{ health: HealthService; bus: HubBus; log: Logger; intervalMs?: number }>(
  'store-health',
  async (app, { health, bus, log, intervalMs = 1000 }) => {
    const off = bus.on('store.health', ({ healthy, reason }) => {
      if (healthy) log.info('the task store takes writes again: degraded mode ended');
      else {
        const d = health.degraded();
        log.error(
          { reason, needs_ack: d?.needsAck ?? false, err_message: d?.message },
          d?.needsAck
            ? 'degraded mode: the task store takes no writes until an operator acknowledges (POST /v1/health/ack); reads go on'
            : 'degraded mode: the task store takes no writes (free disk space if it is full); it retries by itself, and reads go on',
        );
      }
    });
    const unwatch = health.watch();
    const timer = setInterval(() => health.check(), intervalMs);
    timer.unref();
    onStop(app, () => {
      clearInterval(timer);
      unwatch();
      off();
    });
  },
);
