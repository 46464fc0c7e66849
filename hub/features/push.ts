/**
 * Push notifications follow the alerts: each `alert.changed` on the bus goes to PushService,
 * which only queues (the sends run in the background, hub/push/sender.ts), so the alerts engine
 * never waits on a push service. Stopping the hub stops the sender: queued sends are dropped
 * (critical alerts repeat until acknowledged, so nothing an operator must see is lost for good).
 */
import type { Logger } from 'pino';
import type { HubBus } from '../service/bus.js';
import type { PushService } from '../service/push.js';
import { feature } from './feature.js';

export const pushFeature = feature<{ push: PushService; bus: HubBus; log: Logger }>('push', async (app, { push, bus, log }) => {
  const off = bus.on('alert.changed', (alert) => push.alertChanged(alert, log));
  app.addHook('preClose', async () => {
    off();
    await push.sender.close();
  });
});
