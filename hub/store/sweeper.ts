/**
 * Finds the tasks whose time came, for the sweep rules (hub/queue/sweep-rules.ts): expired
 * leases and due tasks, from the in-memory heaps, in chunks of SWEEP_CHUNK per operation. One
 * timer for the earliest expiry or due time; no polling.
 *
 * Each chunk is one operation on the serial path:
 *   reads  t!<id> of each popped heap entry (a stale entry, renewed or released since, is dropped)
 *   writes what the rules decided (apply.ts applies the working set)
 */
import type { Logger } from 'pino';
import type { Changes } from '../queue/changes.js';
import { dueTask, expireLease } from '../queue/sweep-rules.js';
import type { GroupCommit } from './group-commit.js';
import type { MemoryIndexes } from './indexes.js';

const SWEEP_CHUNK = 500;

export interface SweeperOptions {
  /** Sweep on timers; off in tests that drive `sweep()` themselves, and for a read-only store. */
  auto: boolean;
  now: () => number;
  log: Logger;
  /** Whether the store still takes work (open, and no batch write failed). */
  usable: () => boolean;
}

export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private sweeping = false;
  private stopped = false;
  /** No sweep before this time: leases whose holders could not renew while the store was degraded get a grace. */
  private notBefore = 0;
  /** Bound once: arm() runs after every operation. */
  readonly arm = (): void => this.armTimer();

  constructor(
    private readonly gc: GroupCommit,
    /** The rules' working set on the serial path (apply.ts ChangeWriter.changes). */
    private readonly ws: Changes,
    private readonly indexes: MemoryIndexes,
    private readonly opts: SweeperOptions,
  ) {}

  /** Requeues expired leases and queues due tasks. Returns how many tasks it moved. */
  async sweep(): Promise<number> {
    if (this.sweeping || this.stopped) return 0;
    this.sweeping = true;
    let moved = 0;
    try {
      for (;;) {
        const n = await this.gc.submit(() => this.chunk(this.ws));
        moved += n;
        if (n < SWEEP_CHUNK) break;
      }
    } finally {
      this.sweeping = false;
      this.armTimer();
    }
    return moved;
  }

  private async chunk(ws: Changes): Promise<number> {
    const now = ws.now;
    let moved = 0;
    while (moved < SWEEP_CHUNK) {
      const top = this.indexes.leases.peek();
      if (!top || top.at > now) break;
      this.indexes.leases.pop();
      const task = await ws.read(top.id);
      if (!task?.lease || task.lease.expires_at !== top.at) continue; // renewed or released since
      await expireLease(ws, task);
      moved++;
    }
    while (moved < SWEEP_CHUNK) {
      const top = this.indexes.due.peek();
      if (!top || top.at > now) break;
      this.indexes.due.pop();
      const task = await ws.read(top.id);
      if (!task || task.next_run_at !== top.at) continue;
      await dueTask(ws, task);
      moved++;
    }
    return moved;
  }

  /** One timer for the earliest lease expiry or due time. */
  private armTimer(): void {
    // A failed store stays failed until reopened: re-arming would only spin on the same refusal.
    if (!this.opts.auto || this.stopped || !this.opts.usable()) return;
    const next = Math.max(this.indexes.nextTime(), this.notBefore);
    if (next === Infinity || (this.timer && next >= this.timerAt)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    const delay = Math.max(0, Math.min(next - this.opts.now(), 2 ** 31 - 1));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.sweep().catch((err: unknown) => this.opts.log.error({ err }, 'sweeping expired leases and due tasks failed'));
    }, delay);
    this.timer.unref();
  }

  /**
   * After degraded mode ended: the timer is armed again, but no earlier than `graceMs` from now.
   * While the store took no writes, sidecars could not renew their leases nor report results; the
   * grace lets them do so before their leases are taken back as expired.
   */
  resume(graceMs: number): void {
    this.notBefore = this.opts.now() + graceMs;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    this.armTimer();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
