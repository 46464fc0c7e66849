/**
 * The hub's group-commit batches over a measurement window, read from its own Prometheus metrics
 * (`switchyard_store_batch_ops`, `switchyard_store_fsync_seconds`) at the window's start and end
 * marks: how many fsync'd batches a second, how many key operations each, and how long each write
 * took. The figures that say whether the hub waits for its disk (docs/benchmarks.md, issue 16).
 */
import { HubHttp } from './dispatch-http.js';

export interface BatchWindow {
  /** Batches written per second. */
  perSecond: number;
  /** Mean key operations per batch. */
  opsPerBatch: number;
  /** Mean time of one batch's fsync'd write, ms. */
  writeMs: number;
  /** Share of the window with a batch being written (sum of write times / window). */
  busy: number;
}

interface Sample {
  t: number;
  batches: number;
  ops: number;
  seconds: number;
}

/** The value of one unlabelled sample line (`name value`) in a Prometheus text body; 0 when absent. */
function sampleOf(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

export class BatchStats {
  private readonly http: HubHttp;
  private start: Promise<Sample> | null = null;
  private end: Promise<Sample> | null = null;

  constructor(hubUrl: string, adminToken: string) {
    this.http = new HubHttp(hubUrl, adminToken, 1);
  }

  private async sample(): Promise<Sample> {
    const t = performance.now();
    const res = await this.http.request<string>('GET', '/v1/metrics');
    const text = String(res.body);
    return {
      t,
      batches: sampleOf(text, 'switchyard_store_batch_ops_count'),
      ops: sampleOf(text, 'switchyard_store_batch_ops_sum'),
      seconds: sampleOf(text, 'switchyard_store_fsync_seconds_sum'),
    };
  }

  readonly onMark = (m: 'start' | 'end'): void => {
    if (m === 'start') this.start = this.sample();
    else this.end = this.sample();
  };

  /** The window's figures, or null when a mark was missed or a scrape failed. */
  async result(): Promise<BatchWindow | null> {
    try {
      if (!this.start || !this.end) return null;
      const [a, b] = await Promise.all([this.start, this.end]);
      const batches = b.batches - a.batches;
      const secs = (b.t - a.t) / 1000;
      if (batches <= 0 || secs <= 0) return null;
      return { perSecond: batches / secs, opsPerBatch: (b.ops - a.ops) / batches, writeMs: ((b.seconds - a.seconds) * 1000) / batches, busy: (b.seconds - a.seconds) / secs };
    } catch {
      return null;
    } finally {
      this.http.close();
    }
  }
}
