/**
 * Where the Kv stores apply what the queue's rules decided. `ChangeWriter` runs around every
 * operation of the serial path (group-commit.ts OperationHooks): before it, it points the rules'
 * port at the operation's transaction and starts a fresh working set (`changes`); after it
 * succeeded, it writes each change the rules recorded into the operation's batch:
 *
 *   reads   nothing (the rules read through the port)
 *   writes  t!<id> (the record), e!<eventId> (its event, if any), the index keys that differ
 *           between the old and the new record (keys.ts indexKeysOf), i!<key> for a new task
 *           with an idempotency key, p!<dependency>!<id> for each dependency a new task links to,
 *           u!<day>!<repo>!<executor>!<model> for a record whose usage grew (usage-cells.ts)
 *
 * Once the operation has succeeded (before its batch is durable) the in-memory indexes and the
 * record cache follow, and `onApplied` listeners hear of each transition; once the batch is on
 * disk, `onChange` listeners do. One port and one working set serve every operation (they run
 * one at a time), so an operation allocates neither.
 */
import type { Logger } from 'pino';
import { Changes, type Change, type QueuePolicy } from '../queue/changes.js';
import type { OperationHooks, Tx } from './group-commit.js';
import type { MemoryIndexes } from './indexes.js';
import { indexKeysOf, K } from './keys.js';
import type { KvPort } from './kv-port.js';
import type { TaskChange } from './task-store.js';
import type { UsageCells } from './usage-cells.js';

export type ChangeListener = (change: TaskChange) => void;

/** Listeners of one kind; a listener that throws is logged and does not stop the others. */
export class Listeners {
  private readonly set = new Set<ChangeListener>();

  constructor(
    private readonly log: Logger,
    private readonly what: string,
  ) {}

  get size(): number {
    return this.set.size;
  }

  add(listener: ChangeListener): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }

  emit(change: TaskChange): void {
    for (const listener of this.set) {
      try {
        listener(change);
      } catch (err) {
        // A listener's failure must not undo or block a durable change.
        this.log.error({ err, task_id: change.task.id, event_id: change.event.id }, `a task store ${this.what} listener threw`);
      }
    }
  }
}

export class ChangeWriter implements OperationHooks {
  /** The rules' working set, for the operation now on the serial path. */
  readonly changes: Changes;
  /**
   * The JSON written for each assignment's record object (TaskStore.recordJson): the task.assign
   * frame reuses it. Weak: the text goes with the object, once no one holds the assignment.
   */
  readonly assignedJson = new WeakMap<TaskChange['task'], string>();

  constructor(
    private readonly port: KvPort,
    private readonly indexes: MemoryIndexes,
    policy: QueuePolicy,
    private readonly now: () => number,
    readonly applied: Listeners,
    readonly committed: Listeners,
    private readonly usage: UsageCells,
  ) {
    this.changes = new Changes(port, policy);
  }

  begin(tx: Tx): void {
    this.port.bind(tx);
    this.changes.begin(this.now());
    this.usage.begin();
  }

  end(tx: Tx): void {
    for (const change of this.changes.list) this.write(tx, change);
  }

  private write(tx: Tx, change: Change): void {
    const { before, task: after, event } = change;
    const eventJson = event ? JSON.stringify(event) : null;
    const taskJson = JSON.stringify(after);
    if (eventJson !== null) tx.put(K.event(event!.id), eventJson);
    tx.put(K.task(after.id), taskJson);
    if (after.status === 'assigned') this.assignedJson.set(after, taskJson);
    const oldKeys = before ? indexKeysOf(before) : [];
    const newKeys = indexKeysOf(after);
    for (const key of oldKeys) if (!newKeys.includes(key)) tx.del(key);
    for (const key of newKeys) if (!oldKeys.includes(key)) tx.put(key);
    if (!before && after.idempotency_key !== null) tx.put(K.idempotency(after.idempotency_key), after.id);
    // One key per edge: a new dependant costs one key, never a rewrite of a growing list.
    if (change.links) for (const depId of change.links) tx.put(K.dependant(depId, after.id));
    if (after.usage !== before?.usage) this.usage.charge(tx, before, after, this.changes.now);

    tx.onApply(() => {
      this.port.remember(after);
      this.indexes.apply(before, after);
    });
    if (event) {
      // The change is the TaskChange listeners get: it has its event.
      const told = change as TaskChange;
      // The same text the disk got, for the live feed (no second JSON.stringify of each change).
      told.json = { task: taskJson, event: eventJson! };
      if (this.applied.size > 0) tx.onApply(() => this.applied.emit(told));
      tx.onCommit(() => this.committed.emit(told));
    }
  }
}
