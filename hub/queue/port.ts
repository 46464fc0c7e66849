/**
 * The transaction port: what a queue rule may ask of the store it runs on, and nothing more.
 * Each backend implements it over its own transaction (hub/store/kv-port.ts for the Kv stores);
 * a rule never sees keys, batches or caches, so every backend runs the same rules.
 *
 * Reads see the store as the operation's serial path does: every earlier operation included,
 * whether or not its batch is durable yet. The operation's own decisions are not applied until
 * the rule returns; `Changes` (changes.ts) lays them over these reads.
 */
import type { Task } from '../../shared/task.js';

export interface QueueTx {
  /** A task record, or undefined if there is none. The object is shared: never mutate it. */
  read(id: string): Promise<Task | undefined>;
  /**
   * Ids of the tasks registered as dependants of `id` (each registered once, at its creation,
   * while `id` was not completed), in id order.
   */
  dependantsOf(id: string): Promise<string[]>;
  /** The task an idempotency key names, if any. */
  idOfKey(key: string): Promise<string | undefined>;
  /** A new task id: a ULID, greater than every id this store has given. */
  newTaskId(): string;
  /** A new event id: a ULID, greater than every event id this store has written. */
  newEventId(): string;
}
