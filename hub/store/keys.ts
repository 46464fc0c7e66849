/**
 * Every key the task store writes is named here, and nowhere else.
 *
 *   t!<taskId>                               the task record (JSON)
 *   s!<status>!<taskId>                      status index of every status but assigned and running
 *                                            (listing, counts)
 *   r!<signature>!<lane>!<queuedAt>!<taskId> ready index: queued tasks, FIFO per signature and lane
 *   l!<expiresAt>!<taskId>                   lease expiry index (also the status index of `assigned`,
 *                                            `running`, and of an agent's tasks)
 *   d!<dueAt>!<taskId>                       due index: delayed (pending with run_at) and backoff (failed)
 *   i!<idempotencyKey>                       idempotency key -> taskId
 *   e!<eventId>                              the append-only audit log (JSON events); a record lists
 *                                            its own event ids (`event_ids`), the per-task view
 *   m!version                                store format version
 *
 * Times are zero-padded to 13 digits so that keys sort by time. Ids are ULIDs (sortable, no '!').
 */
import type { Lane, TaskStatus } from '../../shared/task.js';

export const STORE_FORMAT_VERSION = '2';

export const pad = (n: number): string => String(Math.max(0, Math.floor(n))).padStart(13, '0');

export const K = {
  task: (id: string) => `t!${id}`,
  taskPrefix: 't!',
  status: (status: TaskStatus, id: string) => `s!${status}!${id}`,
  statusPrefix: (status: TaskStatus) => `s!${status}!`,
  ready: (sig: string, lane: Lane, queuedAt: number, id: string) => `r!${sig}!${lane}!${pad(queuedAt)}!${id}`,
  readyPrefix: 'r!',
  lease: (expiresAt: number, id: string) => `l!${pad(expiresAt)}!${id}`,
  leasePrefix: 'l!',
  due: (dueAt: number, id: string) => `d!${pad(dueAt)}!${id}`,
  duePrefix: 'd!',
  idempotency: (key: string) => `i!${key}`,
  event: (eventId: string) => `e!${eventId}`,
  eventPrefix: 'e!',
  version: 'm!version',
} as const;

/** Splits `r!<sig>!<lane>!<queuedAt>!<id>` back into its parts (the signature may be empty). */
export function parseReadyKey(key: string): { sig: string; lane: Lane; queuedAt: number; id: string } {
  const parts = key.split('!');
  // ['r', sig, lane, queuedAt, id]
  return { sig: parts[1] ?? '', lane: parts[2] as Lane, queuedAt: Number(parts[3]), id: parts[4] ?? '' };
}

/** Splits `l!<time>!<id>` or `d!<time>!<id>`. */
export function parseTimeKey(key: string): { at: number; id: string } {
  const parts = key.split('!');
  return { at: Number(parts[1]), id: parts[2] ?? '' };
}
