/**
 * The usage cells (docs/usage.md): tokens, cost and runs per UTC day × repo × executor × model,
 * kept in memory (a few per repo and day) and on disk as `u!` keys (keys.ts). A change whose
 * record's `usage` grew (a complete or fail that reported usage, hub/queue/leases.ts `charged`)
 * charges the difference to the cell of the operation's day, in the same batch as the record:
 *
 *   reads   nothing on disk (the cells in memory, and this operation's own charges)
 *   writes  u!<day>!<repo>!<executor>!<model> (the cell's new totals)
 *
 * A crash loses the record and the charge together or neither; a result resent after its commit
 * is refused by the generation fence before any rule runs, so it charges nothing. Reads never scan
 * tasks: `cells()` is the memory, plus a per day × repo sum for budgets.
 */
import { addTotals, NO_NAME, splitModelKey, usageDelta, utcDay, zeroTotals, type UsageTotals } from '../../shared/usage.js';
import type { Task } from '../../shared/task.js';
import type { Tx } from './group-commit.js';
import { K, parseUsageKey } from './keys.js';
import { prefixRange, type Kv } from './kv.js';

/** One cell: its coordinates and totals. */
export interface UsageCell extends UsageTotals {
  day: string;
  repo: string;
  executor: string;
  model: string;
}

export class UsageCells {
  private byKey = new Map<string, UsageCell>();
  /** `<day>!<repo>` -> the day's totals of every executor and model. */
  private byRepoDay = new Map<string, UsageTotals>();
  /** This operation's charges, not yet applied (two changes of one operation may charge one cell). */
  private readonly pending = new Map<string, UsageCell>();

  /** Every cell, in no particular order (a copy of none: do not change them). */
  cells(): Iterable<UsageCell> {
    return this.byKey.values();
  }

  /** A repo's totals on a day, or zero. */
  repoDay(repo: string, day: string): UsageTotals {
    return this.byRepoDay.get(`${day}!${repo}`) ?? zeroTotals();
  }

  /** Starts an operation. */
  begin(): void {
    this.pending.clear();
  }

  /** Writes the cells `after`'s usage growth charges into `tx` (nothing when it did not grow). */
  charge(tx: Tx, before: Task | null, after: Task, now: number): void {
    const delta = usageDelta(before?.usage, after.usage);
    if (delta.size === 0) return;
    const day = utcDay(now);
    const repo = after.repo ?? NO_NAME;
    for (const [modelKey, d] of delta) {
      const { executor, model } = splitModelKey(modelKey);
      const key = K.usageCell(day, repo, executor, model);
      const base = this.pending.get(key) ?? this.byKey.get(key);
      const cell: UsageCell = { day, repo, executor, model, ...zeroTotals() };
      if (base) addTotals(cell, base);
      addTotals(cell, d);
      this.pending.set(key, cell);
      tx.put(key, JSON.stringify(totalsOf(cell)));
      tx.onApply(() => this.set(key, cell));
    }
  }

  /** Reads every cell from disk (at open, and after degraded mode: memory back in step). */
  async load(kv: Kv): Promise<void> {
    this.byKey = new Map();
    this.byRepoDay = new Map();
    for await (const entries of kv.entries(prefixRange(K.usagePrefix))) {
      for (const [key, value] of entries) {
        const t = JSON.parse(value) as UsageTotals;
        this.set(key, { ...parseUsageKey(key), ...zeroTotals(), ...t });
      }
    }
  }

  private set(key: string, cell: UsageCell): void {
    const old = this.byKey.get(key);
    this.byKey.set(key, cell);
    const rd = `${cell.day}!${cell.repo}`;
    const sum = this.byRepoDay.get(rd) ?? zeroTotals();
    if (old) {
      sum.input_tokens -= old.input_tokens;
      sum.output_tokens -= old.output_tokens;
      sum.cost_usd -= old.cost_usd;
      sum.runs -= old.runs;
    }
    addTotals(sum, cell);
    this.byRepoDay.set(rd, sum);
  }
}

function totalsOf(c: UsageTotals): UsageTotals {
  return { input_tokens: c.input_tokens, output_tokens: c.output_tokens, cost_usd: c.cost_usd, runs: c.runs };
}
