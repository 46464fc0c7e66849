/**
 * `GET /v1/usage` (docs/usage.md): the store's usage cells (day × repo × executor × model, in
 * memory) summed by the groups asked for, between two UTC days. Never reads a task.
 */
import { addTotals, USAGE_GROUPS, zeroTotals, type UsageAnswer, type UsageGroup, type UsageQuery, type UsageRow } from '../../shared/usage.js';
import type { TaskStore } from '../store/task-store.js';
import { Access, type Principal } from './access.js';

export class UsageService {
  constructor(private readonly store: TaskStore) {}

  query(caller: Principal, q: UsageQuery = {}): UsageAnswer {
    Access.authorize(caller, 'usage.read');
    const by = q.by ? USAGE_GROUPS.filter((g) => q.by!.split(',').includes(g)) : [];
    const rows = new Map<string, UsageRow>();
    const total = zeroTotals();
    for (const cell of this.store.usageCells()) {
      if ((q.since !== undefined && cell.day < q.since) || (q.until !== undefined && cell.day > q.until)) continue;
      addTotals(total, cell);
      const key = by.map((g) => cell[g]).join('!');
      let row = rows.get(key);
      if (!row) {
        row = { ...zeroTotals() };
        for (const g of by) row[g as UsageGroup] = cell[g];
        rows.set(key, row);
      }
      addTotals(row, cell);
    }
    // Days newest first, every other group by name; then cost, largest first.
    const sorted = [...rows.values()].sort((a, b) => {
      for (const g of by) {
        const c = g === 'day' ? b[g]!.localeCompare(a[g]!) : a[g]!.localeCompare(b[g]!);
        if (c !== 0) return c;
      }
      return b.cost_usd - a.cost_usd;
    });
    return { by, since: q.since ?? null, until: q.until ?? null, rows: sorted, total };
  }
}
