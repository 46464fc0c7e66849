/**
 * What the hub knows of retention rounds since it started (the retention feature records each
 * round; `GET /v1/health` reports it).
 */
import type { RetentionReport } from '../store/task-store.js';

export interface RetentionHealth {
  last_round_at: number | null;
  archived_total: number;
  last_removed: number;
}

export class RetentionTracker {
  private last: RetentionReport | null = null;
  private total = 0;

  record(report: RetentionReport): void {
    this.last = report;
    this.total += report.removed;
  }

  get lastReport(): RetentionReport | null {
    return this.last;
  }

  health(): RetentionHealth {
    return { last_round_at: this.last?.at ?? null, archived_total: this.total, last_removed: this.last?.removed ?? 0 };
  }
}
