/**
 * The queue's transaction port (hub/queue/port.ts) for the Kv stores: records, dependants and
 * idempotency keys as the serial path sees them (writes of earlier operations not yet on disk
 * included), through a small cache of parsed records of leased tasks.
 *
 * One port serves the whole serial path: `bind` points it at the transaction of the operation
 * that runs now (operations run one at a time), so an operation allocates no port of its own.
 */
import type { Task } from '../../shared/task.js';
import type { QueueTx } from '../queue/port.js';
import type { Tx } from './group-commit.js';
import type { IdGenerator } from './ids.js';
import { K } from './keys.js';

/** Leased task records kept parsed in memory (bounded; about the fleet's capacity is in use). */
const RECORD_CACHE_SIZE = 20_000;

export class KvPort implements QueueTx {
  private tx: Tx | null = null;
  /** Parsed records of leased tasks (read again at accept, renew, complete); see remember(). */
  private readonly cache = new Map<string, Task>();

  constructor(
    private readonly taskIds: IdGenerator,
    private readonly eventIds: IdGenerator,
  ) {}

  /** Drops every cached record (degraded mode: some may hold changes that never reached disk). */
  forget(): void {
    this.cache.clear();
  }

  /** Points the port at the transaction of the operation now on the serial path. */
  bind(tx: Tx): void {
    this.tx = tx;
  }

  /**
   * A task as the serial path sees it: the record cache (every record written by an applied
   * operation, newest first out), then the store. Records are never mutated after they are
   * written, so sharing the objects is safe.
   */
  async read(id: string): Promise<Task | undefined> {
    const cached = this.cache.get(id);
    if (cached) return cached;
    const raw = await this.tx!.get(K.task(id));
    if (raw === undefined) return undefined;
    const task = JSON.parse(raw) as Task;
    this.remember(task);
    return task;
  }

  async dependantsOf(id: string): Promise<string[]> {
    const prefix = K.dependantsOf(id);
    return (await this.tx!.keys(prefix)).map((key) => key.slice(prefix.length));
  }

  idOfKey(key: string): Promise<string | undefined> {
    return this.tx!.get(K.idempotency(key));
  }

  newTaskId(): string {
    return this.taskIds();
  }

  newEventId(): string {
    return this.eventIds();
  }

  /**
   * Keeps the parsed record of a leased task, drops any other: the agent's accept, renewals and
   * result read it again soon. Caching every record would keep each new task alive long enough
   * to reach the old generation of the heap, which cost more in collection than it saved.
   */
  remember(task: Task): void {
    this.cache.delete(task.id);
    if (task.lease === null) return;
    this.cache.set(task.id, task);
    if (this.cache.size > RECORD_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
  }
}
