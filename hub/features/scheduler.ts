/**
 * The scheduler follows the store: applied changes to place newly queued tasks within the same
 * batch (the store's onApplied, which only the store can offer), durable ones from the bus for
 * everything else. Registered first, so the registry has followed a lease change before any
 * other feature hears of it.
 */
import type { Scheduler } from '../scheduler/scheduler.js';
import type { HubBus } from '../service/bus.js';
import type { TaskStore } from '../store/task-store.js';
import { feature, onStop } from './feature.js';

export const schedulerFeature = feature<{ scheduler: Scheduler; store: TaskStore; bus: HubBus }>('scheduler', async (app, { scheduler, store, bus }) => {
  const offApplied = store.onApplied((change) => scheduler.handleApplied(change));
  const offChanged = bus.on('task.changed', (change) => scheduler.handleChange(change));
  onStop(app, () => {
    scheduler.stop();
    offApplied();
    offChanged();
  });
});
