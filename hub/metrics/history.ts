/**
 * The hub's own short history for the dashboard's charts: one point per 10-second step for the
 * last hour (360 points), so the charts work without a Prometheus server. Counts are within the
 * step; queue depth, running tasks and agents online are sampled when the step closes.
 *
 * Fed from bus events (recordChange) and closed by a timer (close); pure otherwise, with the
 * clock passed in, so tests step it by hand. Enqueue->assign percentiles come from at most
 * SAMPLES_PER_STEP latencies a step (a reservoir: a burst of assignments costs no more memory).
 */
import type { MetricsPoint } from '../../shared/alerts.js';

export const STEP_MS = 10_000;
export const HISTORY_POINTS = 360;
const SAMPLES_PER_STEP = 2_000;

export interface StepCounts {
  created: number;
  completed: number;
  failed: number;
  dead_lettered: number;
}

export interface Gauges {
  queued: number;
  running: number;
  agents_online: number;
}

export class MetricsHistory {
  private readonly points: MetricsPoint[] = [];
  private counts: StepCounts = { created: 0, completed: 0, failed: 0, dead_lettered: 0 };
  private samples: number[] = [];
  private seen = 0;

  constructor(
    readonly stepMs = STEP_MS,
    private readonly capacity = HISTORY_POINTS,
    private readonly random: () => number = Math.random,
  ) {}

  count(what: keyof StepCounts): void {
    this.counts[what]++;
  }

  /** One enqueue->assign latency (ms). */
  assigned(ms: number): void {
    this.seen++;
    if (this.samples.length < SAMPLES_PER_STEP) this.samples.push(ms);
    else {
      const i = Math.floor(this.random() * this.seen);
      if (i < SAMPLES_PER_STEP) this.samples[i] = ms;
    }
  }

  /** Ends the step at `at` with the gauges as they are now; the oldest point beyond the hour goes. */
  close(at: number, gauges: Gauges): MetricsPoint {
    const sorted = this.samples.sort((a, b) => a - b);
    const point: MetricsPoint = {
      at,
      ...gauges,
      ...this.counts,
      assign_p50_ms: percentile(sorted, 0.5),
      assign_p99_ms: percentile(sorted, 0.99),
    };
    this.points.push(point);
    if (this.points.length > this.capacity) this.points.shift();
    this.counts = { created: 0, completed: 0, failed: 0, dead_lettered: 0 };
    this.samples = [];
    this.seen = 0;
    return point;
  }

  /** The points, oldest first (copies: the caller may keep them). */
  list(): MetricsPoint[] {
    return this.points.map((p) => ({ ...p }));
  }

  /** Counts within the closed steps that end after `since`, plus the step still open. */
  countsSince(since: number): StepCounts {
    const sum = { ...this.counts };
    for (let i = this.points.length - 1; i >= 0 && this.points[i]!.at > since; i--) {
      const p = this.points[i]!;
      sum.created += p.created;
      sum.completed += p.completed;
      sum.failed += p.failed;
      sum.dead_lettered += p.dead_lettered;
    }
    return sum;
  }
}

/** Nearest-rank percentile of sorted values; null when there are none. */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return Math.round(sorted[rank]! * 10) / 10;
}
