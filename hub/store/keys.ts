/**
 * Every key the task store writes is named here, and nowhere else.
 *
 *   t!<taskId>                               the task record (JSON)
 *   s!<status>!<taskId>                      status index of every status but assigned and running
 *                                            (listing, counts)
 *   r!<signature>!<lane>!<queuedAt>!<taskId> ready index: queued tasks, FIFO per signature and lane
 *                                            (the signature ends `|follow-up` for follow-up work, format 5)
 *   l!<expiresAt>!<taskId>                   lease expiry index (also the status index of `assigned`,
 *                                            `running`, and of an agent's tasks)
 *   d!<dueAt>!<taskId>                       due index: delayed (pending with run_at) and backoff (failed)
 *   i!<idempotencyKey>                       idempotency key -> taskId
 *   e!<eventId>                              the append-only audit log (JSON events); a record lists
 *                                            its own event ids (`event_ids`), the per-task view
 *   f!<status>!<finishedAt>!<taskId>         finish index of the statuses retention removes (completed,
 *                                            cancelled, dead_letter), oldest first per status; the time
 *                                            is the record's updated_at (hub/queue/retention-rules.ts)
 *   k!<releaseAt>!<idempotencyKey>           a removed task's idempotency key, reserved until releaseAt
 *                                            (its i! key still names the removed task until then)
 *   u!<day>!<repo>!<executor>!<model>        usage cell: tokens, cost and runs charged that UTC day
 *                                            (JSON; `-` for no repo or model), written in the batch of
 *                                            the change that charged it (usage-cells.ts)
 *   m!version                                store format version
 *   h!probe                                  the last degraded-mode probe write (a time; read by nothing)
 *
 *   p!<parentId>!<taskId>                    dependants index: a task that depends on parentId (one key
 *                                            per edge, derived from the dependant's depends_on)
 *
 * Times are zero-padded to 13 digits so that keys sort by time; `pad` refuses a time that does not
 * fit, since a wider one would sort before an earlier time (the schema caps every time the
 * store can be given at LIMITS.maxTimeMs). Ids are ULIDs (sortable, no '!').
 */
import { SwitchyardError } from '../../shared/errors.js';
import { LIMITS, TASK_STATUSES, type Lane, type Task, type TaskStatus } from '../../shared/task.js';
import { isFollowUp, signatureOf } from '../queue/ready-index.js';
import { finishedAt } from '../queue/retention-rules.js';
import { LEASED_STATUSES } from '../queue/states.js';

export const STORE_FORMAT_VERSION = '5';

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
  idempotencyPrefix: 'i!',
  dependant: (parentId: string, id: string) => `p!${parentId}!${id}`,
  dependantsOf: (parentId: string) => `p!${parentId}!`,
  dependantPrefix: 'p!',
  finished: (status: TaskStatus, at: number, id: string) => `f!${status}!${pad(at)}!${id}`,
  finishedPrefix: (status: TaskStatus) => `f!${status}!`,
  finishedFamily: 'f!',
  reserved: (releaseAt: number, key: string) => `k!${pad(releaseAt)}!${key}`,
  reservedPrefix: 'k!',
  event: (eventId: string) => `e!${eventId}`,
  eventPrefix: 'e!',
  usageCell: (day: string, repo: string, executor: string, model: string) => `u!${day}!${repo}!${executor}!${model}`,
  usagePrefix: 'u!',
  version: 'm!version',
  /** The degraded-mode probe's write (group-commit.ts): a time, read by nothing. */
  probe: 'h!probe',
} as const;

/** The prefixes of the index keys `indexKeysOf` derives (what the integrity check compares). */
export const INDEX_PREFIXES = ['s!', 'r!', 'l!', 'd!', 'f!'] as const;

/**
 * Statuses with an `s!` index key. Assigned and running tasks have one already, their lease key
 * (`l!`): not writing a second key for the states a task passes through in milliseconds saves
 * 4 of the key writes of a full cycle. (Queued keeps its `s!` key, so queued tasks list in id
 * order like the others, not in the ready index's lane order.)
 */
export const STATUS_INDEXED: ReadonlySet<TaskStatus> = new Set(TASK_STATUSES.filter((s) => !LEASED_STATUSES.has(s)));

/** The ready index's signature of a queued task (capabilities, repo, delegate, follow-up or not). */
export function readySig(task: Task): string {
  return signatureOf(task.capabilities, task.repo, task.delegate, isFollowUp(task));
}

/**
 * Every index key a record implies (besides its own `t!` key): a pure function of the record, so
 * a write removes the old record's keys that the new one lacks and adds the new ones, and
 * verifyIntegrity checks the same function against the whole store.
 */
export function indexKeysOf(task: Task): string[] {
  const keys: string[] = [];
  if (STATUS_INDEXED.has(task.status)) keys.push(K.status(task.status, task.id));
  if (task.status === 'queued' && task.queued_at !== null) {
    keys.push(K.ready(readySig(task), task.lane, task.queued_at, task.id));
  }
  if (task.lease) keys.push(K.lease(task.lease.expires_at, task.id));
  if (task.next_run_at !== null && (task.status === 'pending' || task.status === 'failed')) {
    keys.push(K.due(task.next_run_at, task.id));
  }
  const finished = finishedAt(task);
  if (finished !== null) keys.push(K.finished(task.status, finished, task.id));
  return keys;
}

/** The `p!<parent>!` range a dependant key is read under, or null for any other key. */
export function dependantRangeOf(key: string): string | null {
  return key.startsWith(K.dependantPrefix) ? key.slice(0, key.indexOf('!', K.dependantPrefix.length) + 1) : null;
}

/** Splits `p!<parent>!<child>`. */
export function parseDependantKey(key: string): { parent: string; child: string } {
  const [, parent = '', child = ''] = key.split('!');
  return { parent, child };
}

/** Splits `r!<sig>!<lane>!<queuedAt>!<id>` back into its parts (the signature may be empty). */
export function parseReadyKey(key: string): { sig: string; lane: Lane; queuedAt: number; id: string } {
  const parts = key.split('!');
  // ['r', sig, lane, queuedAt, id]
  return { sig: parts[1] ?? '', lane: parts[2] as Lane, queuedAt: Number(parts[3]), id: parts[4] ?? '' };
}

/** Splits `f!<status>!<time>!<id>`. */
export function parseFinishedKey(key: string): { status: TaskStatus; at: number; id: string } {
  const [, status = '', at = '', id = ''] = key.split('!');
  return { status: status as TaskStatus, at: Number(at), id };
}

/** Splits `k!<time>!<idempotencyKey>` (the key may itself hold '!'). */
export function parseReservedKey(key: string): { releaseAt: number; key: string } {
  return { releaseAt: Number(key.slice(2, 15)), key: key.slice(16) };
}

/** Splits `u!<day>!<repo>!<executor>!<model>` (no part holds '!': ids and executor names cannot). */
export function parseUsageKey(key: string): { day: string; repo: string; executor: string; model: string } {
  const [, day = '', repo = '', executor = '', model = ''] = key.split('!');
  return { day, repo, executor, model };
}

/** Splits `l!<time>!<id>` or `d!<time>!<id>`. */
export function parseTimeKey(key: string): { at: number; id: string } {
  const parts = key.split('!');
  return { at: Number(parts[1]), id: parts[2] ?? '' };
}
