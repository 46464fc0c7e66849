/**
 * The Kv store's in-memory indexes: the ready index (heaps per signature and lane), min-heaps of
 * lease expiries and due times for the sweeper's timer, and counts of tasks per active status.
 * Rebuilt from the index keys when the store opens; never the source of truth.
 */
import { TASK_STATUSES, type Task, type TaskStatus } from '../../shared/task.js';
import { MinHeap } from '../queue/heap.js';
import { ReadyIndex, type ReadyPolicy } from '../queue/ready-index.js';
import { K, parseReadyKey, parseTimeKey, readySig, STATUS_INDEXED } from './keys.js';
import { prefixRange, type Kv } from './kv.js';
import type { QueueStats } from './task-store.js';

/** Statuses whose counts are kept in memory (the rest grow without bound and are not counted). */
export const COUNTED: readonly TaskStatus[] = ['pending', 'assigned', 'running', 'blocked', 'review', 'failed', 'dead_letter'];
const IS_COUNTED = new Set<TaskStatus>(COUNTED);

export interface TimeEntry {
  at: number;
  id: string;
}
const earlier = (a: TimeEntry, b: TimeEntry): boolean => a.at < b.at || (a.at === b.at && a.id < b.id);

/**
 * Loads a heap from keys read in key order, which is time order for every time `pad` accepts. A
 * key that breaks the order (written before times were bounded, with more than 13 digits) is
 * pushed properly instead of appended, so it cannot sit at the top and hold back every due task.
 */
function pushInOrder(heap: MinHeap<TimeEntry>, entry: TimeEntry): void {
  const last = heap.last();
  if (last === undefined || !earlier(entry, last)) heap.pushSorted(entry);
  else heap.push(entry);
}

export class MemoryIndexes {
  // Replaced only by reload(); everyone reads them through this object, never keeps one.
  ready: ReadyIndex;
  /** Lease expiries; an entry whose task was renewed or released since is skipped when popped. */
  leases = new MinHeap<TimeEntry>(earlier);
  /** Due times (backoff, run_at); stale entries are skipped the same way. */
  due = new MinHeap<TimeEntry>(earlier);
  readonly counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;

  /** The registry's hooks, kept so a reloaded ready index gets them too. */
  private policy: ReadyPolicy | null = null;

  constructor(private readonly starvationMs: number) {
    this.ready = new ReadyIndex(starvationMs);
  }

  setReadyPolicy(policy: ReadyPolicy): void {
    this.policy = policy;
    this.ready.setHold(policy.hold);
    this.ready.setRepoRank(policy.rank);
  }

  /**
   * Drops everything and rebuilds it from disk: after a failed batch (degraded mode), whose
   * changes were applied here before the write failed.
   */
  async reload(kv: Kv): Promise<void> {
    const fresh = new MemoryIndexes(this.starvationMs);
    await fresh.load(kv);
    if (this.policy) fresh.setReadyPolicy(this.policy);
    this.ready = fresh.ready;
    this.leases = fresh.leases;
    this.due = fresh.due;
    Object.assign(this.counts, fresh.counts);
  }

  /** Rebuilds everything from the index keys (and, for leased tasks, their records). */
  async load(kv: Kv): Promise<void> {
    for await (const keys of kv.keys(prefixRange(K.readyPrefix), 5000)) {
      for (const key of keys) {
        const { sig, lane, queuedAt, id } = parseReadyKey(key);
        this.ready.load({ sig, lane, at: queuedAt, id });
      }
    }
    for await (const keys of kv.keys(prefixRange(K.leasePrefix))) {
      const entries = keys.map(parseTimeKey);
      for (const entry of entries) pushInOrder(this.leases, entry);
      // Assigned and running tasks are counted from their records (the lease keys are their index).
      for (const raw of await kv.getMany(entries.map((e) => K.task(e.id)))) {
        if (raw !== undefined) this.counts[(JSON.parse(raw) as Task).status]++;
      }
    }
    for await (const keys of kv.keys(prefixRange(K.duePrefix))) {
      for (const key of keys) pushInOrder(this.due, parseTimeKey(key));
    }
    for (const status of COUNTED) {
      if (!STATUS_INDEXED.has(status)) continue;
      for await (const keys of kv.keys(prefixRange(K.statusPrefix(status)))) this.counts[status] += keys.length;
    }
    this.counts.queued = this.ready.size;
  }

  /** Follows one applied change: `after` replaces `before` (null for a new task). */
  apply(before: Task | null, after: Task): void {
    const wasQueued = before?.status === 'queued' && before.queued_at !== null;
    const isQueued = after.status === 'queued' && after.queued_at !== null;
    const oldSig = wasQueued ? readySig(before) : '';
    const newSig = isQueued ? readySig(after) : '';
    const sameEntry = wasQueued && isQueued && before.queued_at === after.queued_at && oldSig === newSig && before.lane === after.lane;
    if (!sameEntry) {
      if (wasQueued) this.ready.remove({ id: before.id, lane: before.lane, at: before.queued_at! });
      if (isQueued) this.ready.add({ sig: newSig, lane: after.lane, at: after.queued_at!, id: after.id });
    }
    if (after.lease && after.lease.expires_at !== before?.lease?.expires_at) {
      this.leases.push({ at: after.lease.expires_at, id: after.id });
    }
    const due = after.status === 'pending' || after.status === 'failed' ? after.next_run_at : null;
    if (due !== null && due !== before?.next_run_at) this.due.push({ at: due, id: after.id });
    if (!before || before.status !== after.status) {
      if (before && IS_COUNTED.has(before.status)) this.counts[before.status]--;
      if (IS_COUNTED.has(after.status)) this.counts[after.status]++;
      this.counts.queued = this.ready.size;
    }
  }

  /**
   * Follows a task removed by retention: only its count (it has no ready, lease or due entry in
   * a status retention removes).
   */
  forget(task: Task): void {
    if (IS_COUNTED.has(task.status)) this.counts[task.status]--;
  }

  /** The earliest lease expiry or due time, or Infinity. */
  nextTime(): number {
    return Math.min(this.leases.peek()?.at ?? Infinity, this.due.peek()?.at ?? Infinity);
  }

  stats(): QueueStats {
    const byStatus: QueueStats['byStatus'] = { queued: this.ready.size };
    for (const s of COUNTED) byStatus[s] = this.counts[s];
    return { queued: this.ready.depth(), byStatus, leases: this.counts.assigned + this.counts.running };
  }
}
