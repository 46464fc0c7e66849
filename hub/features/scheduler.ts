/**
 * The scheduler follows the store: applied changes to place newly queued tasks within the same
 * batch (the store's onApplied, where the backend supports it), durable ones from the bus for
 * everything else (and for placement too, on a backend without onApplied). Registered first, so the registry has followed a lease change before any
 * other feature hears of it.
 */
import type { Scheduler } from '../scheduler/scheduler.js';
import type { HubBus } from '../service/bus.js';
import type { TaskStore } from '../store/task-store.js';
import { feature, onStop } from './feature.js';

export const schedulerFeature = feature<{ scheduler: Scheduler; store: TaskStore; bus: HubBus }>('scheduler', async (app, { scheduler, store, bus }) => {
  const offApplied = store.supports.onApplied && store.onApplied ? store.onApplied((change) => scheduler.handleApplied(change)) : null;
  const offChanged = bus.on('task.changed', (change) => {
    // In the order the store would have told them: applied first, then durable.
    if (!offApplied) scheduler.handleApplied(change);
    scheduler.handleChange(change);
  });
  // While the store was degraded every lease was refused (logged once per attempt, no retry loop):
  // once it takes writes again, fill every agent's free slots from what waited.
  const offHealth = bus.on('store.health', ({ healthy }) => {
    if (healthy) scheduler.fillAll();
  });
  // A repo resumed or moved up may have tasks free agents can take now (a paused one's waited).
  const offRepo = bus.on('repo.changed', ({ change }) => {
    if (change !== 'paused' && change !== 'removed') scheduler.fillAll();
  });
  // A repo no longer at its budget (raised, removed, a new UTC day): its waiting tasks may start.
  const offBudget = bus.on('budget.changed', ({ budget }) => {
    if (!budget?.blocked) scheduler.fillAll();
  });
  onStop(app, () => {
    scheduler.stop();
    offBudget();
    offApplied?.();
    offChanged();
    offHealth();
    offRepo();
  });
});
