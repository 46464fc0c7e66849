/**
 * Retention for the Kv stores: finds finished tasks older than their status's limit through the
 * finish index, archives them, removes them in small batches on the serial path, releases the
 * idempotency keys whose reservation ended, then compacts what it removed. What may go is the
 * queue's rule (hub/queue/retention-rules.ts); this is the storage side.
 *
 * A round, per batch of at most `batch` tasks:
 *   1. reads (from disk, off the serial path) f!<status>!<time>!<id> up to the status's cutoff,
 *      the records, their dependants' records and their events;
 *   2. appends the removable ones to the archive and waits until that is durable;
 *   3. one operation on the serial path checks each again (unchanged since step 1, still
 *      removable as the serial path sees it) and removes it:
 *        reads   t!<id>, t!<dependant> (p!<id>!*), p!<dependency>!<id>, i!<key>
 *        writes  del t!<id>, its index keys (keys.ts indexKeysOf: s!, f!), e!<event> of each of
 *                its events, p!<id>!* and p!<dependency>!<id> (the dependency's dependant_count
 *                goes down by one: an edit, no event), and either k!<releaseAt>!<key> (the
 *                idempotency key stays reserved) or del i!<key>;
 *   4. yields, so that dispatch runs between batches.
 * A crash between 2 and 3 leaves the batch in the archive and in the store: the next round
 * archives it again (readers keep the last line per task) and removes it.
 */
import type { Logger } from 'pino';
import type { Task, TaskEvent } from '../../shared/task.js';
import { edit, MAX_EVENT_IDS, type Changes } from '../queue/changes.js';
import { cutoffOf, RETAINED_STATUSES, whyKept } from '../queue/retention-rules.js';
import type { GroupCommit, Tx } from './group-commit.js';
import { encodeTime } from './ids.js';
import type { MemoryIndexes } from './indexes.js';
import { indexKeysOf, K, pad, parseFinishedKey, parseReservedKey } from './keys.js';
import { prefixRange, type Kv } from './kv.js';
import type { ArchivedTask, ArchiveSink, RetentionOptions, RetentionReport } from './task-store.js';

/** Reserved idempotency keys released per operation. */
const RELEASE_CHUNK = 500;

/** The key families a removal deletes from, each compacted over the span it deleted. */
const FAMILIES = ['t!', 'e!', 's!', 'f!', 'p!', 'i!', 'k!'] as const;

/** The lowest and highest key deleted per family in a round. */
class Spans {
  private readonly spans = new Map<string, { lo: string; hi: string }>();

  add(key: string): void {
    const family = key.slice(0, 2);
    const span = this.spans.get(family);
    if (!span) this.spans.set(family, { lo: key, hi: key });
    else if (key < span.lo) span.lo = key;
    else if (key > span.hi) span.hi = key;
  }

  *each(): Generator<{ lo: string; hi: string }> {
    for (const family of FAMILIES) {
      const span = this.spans.get(family);
      if (span) yield span;
    }
  }
}

export interface RetentionDeps {
  kv: Kv;
  gc: GroupCommit;
  /** The rules' working set on the serial path (apply.ts ChangeWriter.changes). */
  ws: Changes;
  indexes: MemoryIndexes;
  now: () => number;
  log: Logger;
}

export class StoreRetention {
  private running: Promise<RetentionReport> | null = null;

  constructor(private readonly deps: RetentionDeps) {}

  /** One round; a call while one runs gets that one. */
  round(options: RetentionOptions, archive: ArchiveSink): Promise<RetentionReport> {
    if (this.running) return this.running;
    const run = this.run(options, archive).finally(() => {
      this.running = null;
    });
    this.running = run;
    return run;
  }

  private async run(options: RetentionOptions, archive: ArchiveSink): Promise<RetentionReport> {
    const { kv, now: clock } = this.deps;
    const started = performance.now();
    const now = clock();
    const report: RetentionReport = { at: now, removed: 0, removedByStatus: {}, kept: 0, released: 0, batches: 0, compactMs: 0, durationMs: 0 };
    const spans = new Spans();
    const batch = Math.max(1, options.batch);
    for (const status of RETAINED_STATUSES) {
      const cutoff = cutoffOf(status, now, options);
      if (cutoff === null) continue;
      const prefix = K.finishedPrefix(status);
      // A cursor per status: tasks kept in this round (a live dependant) are not read again.
      let after = prefix;
      for (;;) {
        const keys: string[] = [];
        for await (const chunk of kv.keys({ gt: after, lt: prefix + pad(cutoff), limit: batch }, batch)) keys.push(...chunk);
        if (keys.length === 0) break;
        after = keys[keys.length - 1]!;
        const candidates = await this.candidates(keys.map((k) => parseFinishedKey(k).id), now, options);
        report.kept += keys.length - candidates.length;
        if (candidates.length > 0) {
          await archive.append(candidates);
          const removed = await this.deps.gc.submit((tx) => this.remove(tx, candidates, now, options, spans));
          report.batches++;
          report.removed += removed.length;
          report.kept += candidates.length - removed.length;
          for (const t of removed) report.removedByStatus[t.status] = (report.removedByStatus[t.status] ?? 0) + 1;
        }
        if (keys.length < batch) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    report.released = await this.releaseKeys(now, spans);
    if (report.removed + report.released > 0 && options.compact !== false) {
      const t0 = performance.now();
      for (const { lo, hi } of spans.each()) await kv.compactRange(lo, hi);
      report.compactMs = Math.round(performance.now() - t0);
    }
    report.durationMs = Math.round(performance.now() - started);
    this.deps.log.info({ retention: report }, 'retention round done');
    return report;
  }

  /**
   * The removable tasks among `ids` as the disk has them, each with its events. Read with
   * `get` (synchronous on LevelDB, level-kv.ts), not `getMany`: a getMany waits its turn on
   * LevelDB's thread pool behind the dispatch path's fsyncs, which made a round of the soak bench
   * remove ~100 tasks/s with one getMany per task; a few thousand cached reads cost milliseconds.
   */
  private async candidates(ids: string[], now: number, options: RetentionOptions): Promise<ArchivedTask[]> {
    const raws = await this.readMany(ids.map((id) => K.task(id)));
    const tasks: Task[] = [];
    for (const raw of raws) {
      if (raw === undefined) continue;
      const task = JSON.parse(raw) as Task;
      if (whyKept(task, now, options, await this.dependantsOnDisk(task)) !== null) continue;
      tasks.push(task);
    }
    const eventRaws = await this.readMany(tasks.flatMap((t) => t.event_ids.map((id) => K.event(id))));
    let at = 0;
    const out: ArchivedTask[] = [];
    for (const task of tasks) {
      const events = task.event_ids.length >= MAX_EVENT_IDS ? await this.olderEventsOf(task) : [];
      for (let i = 0; i < task.event_ids.length; i++) {
        const raw = eventRaws[at++];
        if (raw !== undefined) events.push(JSON.parse(raw) as TaskEvent);
      }
      out.push({ task, events });
    }
    return out;
  }

  /** The last id in a key space, as the disk has it. */
  private async lastKey(prefix: string): Promise<string | null> {
    for await (const keys of this.deps.kv.keys({ ...prefixRange(prefix), reverse: true, limit: 1 })) return keys[0]?.slice(prefix.length) ?? null;
    return null;
  }

  private readMany(keys: string[]): Promise<Array<string | undefined>> {
    return Promise.all(keys.map((key) => this.deps.kv.get(key)));
  }

  private async dependantsOnDisk(task: Task): Promise<Array<Task | undefined>> {
    if (!task.dependant_count) return [];
    const { kv } = this.deps;
    const prefix = K.dependantsOf(task.id);
    const ids: string[] = [];
    for await (const keys of kv.keys(prefixRange(prefix), 1000)) for (const key of keys) ids.push(key.slice(prefix.length));
    return (await this.readMany(ids.map((id) => K.task(id)))).map((raw) => (raw === undefined ? undefined : (JSON.parse(raw) as Task)));
  }

  /**
   * The events of a task whose list is full (it keeps only the newest MAX_EVENT_IDS) that it no
   * longer lists: found in the log between its creation and the first listed one.
   */
  private async olderEventsOf(task: Task): Promise<TaskEvent[]> {
    const events: TaskEvent[] = [];
    const range = { gte: K.event(encodeTime(task.created_at)), lt: K.event(task.event_ids[0]!) };
    for await (const entries of this.deps.kv.entries(range, 1000)) {
      for (const [, raw] of entries) {
        const event = JSON.parse(raw) as TaskEvent;
        if (event.task_id === task.id) events.push(event);
      }
    }
    return events;
  }

  /** Step 3: on the serial path. Returns the tasks removed (a candidate that changed stays). */
  private async remove(tx: Tx, candidates: ArchivedTask[], now: number, options: RetentionOptions, spans: Spans): Promise<Task[]> {
    const { ws, indexes } = this.deps;
    const del = (key: string) => {
      tx.del(key);
      spans.add(key);
    };
    const removing: Array<{ task: Task; events: TaskEvent[]; dependants: readonly string[] }> = [];
    // The newest task and the task with the newest event stay, however old: they are what the
    // start-up check compares with the watermark (hub/recovery/), and a hub idle for longer than
    // the retention period would otherwise look, at its next start, like a store that lost writes.
    const keepNewest = options.keepNewest !== false;
    const newestTask = keepNewest ? await this.lastKey(K.taskPrefix) : null;
    const newestEvent = keepNewest ? await this.lastKey(K.eventPrefix) : null;
    for (const { task: seen, events } of candidates) {
      if (keepNewest && (seen.id === newestTask || (newestEvent !== null && seen.event_ids.includes(newestEvent)))) continue;
      const task = await ws.read(seen.id);
      // Changed since it was archived (a dead-lettered task retried, say): it stays; the archive's
      // copy is a leftover that the live record overrides.
      if (!task || task.updated_at !== seen.updated_at || task.status !== seen.status || task.dependant_count !== seen.dependant_count) continue;
      const dependants = await ws.dependantsOf(task);
      const records = await Promise.all(dependants.map((id) => ws.read(id)));
      if (whyKept(task, now, options, records) !== null) continue;
      removing.push({ task, events, dependants });
    }
    const ids = new Set(removing.map((r) => r.task.id));
    for (const { task, events, dependants } of removing) {
      del(K.task(task.id));
      for (const key of indexKeysOf(task)) del(key);
      for (const event of events) del(K.event(event.id));
      for (const child of dependants) del(K.dependant(task.id, child));
      for (const depId of task.depends_on) {
        // A dependency removed in this batch drops its own edges.
        if (ids.has(depId)) continue;
        const edge = K.dependant(depId, task.id);
        if ((await tx.get(edge)) === undefined) continue;
        del(edge);
        const dep = await ws.read(depId);
        if (dep) edit(ws, dep, { dependant_count: Math.max(0, dep.dependant_count - 1) });
      }
      const key = task.idempotency_key;
      if (key !== null && (await tx.get(K.idempotency(key))) === task.id) {
        if (options.idempotencyKeepMs > 0) tx.put(K.reserved(now + options.idempotencyKeepMs, key), task.id);
        else del(K.idempotency(key));
      }
      tx.onApply(() => indexes.forget(task));
    }
    return removing.map((r) => r.task);
  }

  /** Releases the idempotency keys whose reservation ended by `now`. */
  private async releaseKeys(now: number, spans: Spans): Promise<number> {
    const { kv, gc, ws } = this.deps;
    let released = 0;
    for (;;) {
      const due: Array<[string, string]> = [];
      for await (const entries of kv.entries({ gte: K.reservedPrefix, lt: K.reserved(now + 1, ''), limit: RELEASE_CHUNK }, RELEASE_CHUNK)) due.push(...entries);
      if (due.length === 0) return released;
      released += await gc.submit(async (tx) => {
        let n = 0;
        for (const [reservation, taskId] of due) {
          const { key } = parseReservedKey(reservation);
          tx.del(reservation);
          spans.add(reservation);
          // Still the removed task's (and it did not come back): free the key.
          if ((await tx.get(K.idempotency(key))) === taskId && !(await ws.read(taskId))) {
            tx.del(K.idempotency(key));
            spans.add(K.idempotency(key));
            n++;
          }
        }
        return n;
      });
      if (due.length < RELEASE_CHUNK) return released;
    }
  }
}
