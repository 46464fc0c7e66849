/**
 * Budgets follow the store (docs/usage.md): after each durable change the budget service checks
 * whether the task's repo reached its limit (`budget.changed`, reason `exhausted`); once a minute
 * it looks whether a new UTC day unblocked a repo. The scheduler refills agents on an unblock.
 */
import type { BudgetService } from '../service/budgets.js';
import type { HubBus } from '../service/bus.js';
import { feature, onStop } from './feature.js';

export const budgetsFeature = feature<{ budgets: BudgetService; bus: HubBus; tickMs?: number }>('budgets', async (app, { budgets, bus, tickMs }) => {
  const off = bus.on('task.changed', (change) => budgets.changed(change));
  const timer = setInterval(() => budgets.tick(), tickMs ?? 60_000);
  timer.unref();
  onStop(app, () => {
    off();
    clearInterval(timer);
  });
});
