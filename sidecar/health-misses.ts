/**
 * The periodic health check's tolerance (docs/host-faults.md, "Health checks"): an executor that
 * was working and fails one check is not marked unhealthy for that one miss — a busy GPU, a
 * model being swapped in — only after `tolerance` failed checks in a row. A passing check resets
 * the count. Start-up checks and rechecks after a fault are not filtered: they decide at once.
 * Pure bookkeeping.
 */
import type { ExecutorName } from '../shared/task.js';
import type { ExecutorInfo } from './executors/executor.js';

export interface MissOutcome {
  /** What to advertise: a miss within the tolerance keeps the last working description. */
  infos: ExecutorInfo[];
  /** Executors whose check failed but that stay advertised, with the misses so far. */
  held: Array<{ name: ExecutorName; misses: number; detail: string | undefined }>;
}

export class HealthMisses {
  private readonly misses = new Map<ExecutorName, number>();
  /** The last description of each executor that passed. */
  private readonly lastGood = new Map<ExecutorName, ExecutorInfo>();

  constructor(private readonly tolerance: number) {}

  /** Records a check's results that were not filtered (start-up, rechecks): passing ones become the last good ones, failing ones forget theirs. */
  observe(infos: readonly ExecutorInfo[]): void {
    for (const info of infos) {
      this.misses.delete(info.name);
      // A check that decides at once and finds it down: it must pass again before a miss is held.
      if (info.available) this.lastGood.set(info.name, info);
      else this.lastGood.delete(info.name);
    }
  }

  /** A periodic check's results, with misses within the tolerance replaced by the last good description. */
  filter(infos: readonly ExecutorInfo[]): MissOutcome {
    const out: ExecutorInfo[] = [];
    const held: MissOutcome['held'] = [];
    for (const info of infos) {
      const good = this.lastGood.get(info.name);
      if (info.available || !good) {
        this.observe([info]);
        out.push(info);
        continue;
      }
      const n = (this.misses.get(info.name) ?? 0) + 1;
      if (n >= this.tolerance) {
        // Unhealthy now: it must pass a check again to be trusted.
        this.misses.delete(info.name);
        this.lastGood.delete(info.name);
        out.push(info);
        continue;
      }
      this.misses.set(info.name, n);
      held.push({ name: info.name, misses: n, detail: info.detail });
      out.push(good);
    }
    return { infos: out, held };
  }
}
