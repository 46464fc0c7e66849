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
 *   p!<parentId>!<taskId>                    dependants index: a task that depends on parentId (one key
 *                                            per edge, derived from the dependant's depends_on)
 *
 * Times are zero-padded to 13 digits so that keys sort by time; `pad` refuses a time that does not
 * fit, since a wider one would sort before an earlier time (the schema caps every time the
 * store can be given at LIMITS.maxTimeMs). Ids are ULIDs (sortable, no '!').
 */
import { SwitchyardError } from '../../shared/errors.js';
import { LIMITS, type Lane, type TaskStatus } from '../../shared/task.js';

export const STORE_FORMAT_VERSION = '3';

/** A time as 13 fixed-width digits; throws for a time that 13 digits cannot hold. */
export function pad(n: number): string {
  if (!(n <= LIMITS.maxTimeMs)) {
    throw new SwitchyardError('VALIDATION_FAILED', `time ${n} is beyond the latest time the store keeps (${LIMITS.maxTimeMs})`);
  }
  return String(Math.max(0, Math.floor(n))).padStart(13, '0');
}

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
  dependant: (parentId: string, id: string) => `p!${parentId}!${id}`,
  dependantsOf: (parentId: string) => `p!${parentId}!`,
  dependantPrefix: 'p!',
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
