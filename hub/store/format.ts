/**
 * The store format of a Kv store (`m!version`), checked when it opens. A new store is written as
 * the current format; a format-2, -3 or -4 store is migrated (2 -> 3 -> 4 -> 5), unless the store is opened read-only (then
 * STORE_NEEDS_MIGRATION says so and nothing is written); any other format is refused.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Task } from '../../shared/task.js';
import { signatureOf } from '../queue/ready-index.js';
import { indexKeysOf, K, STORE_FORMAT_VERSION } from './keys.js';
import { prefixRange, type Kv, type KvOp } from './kv.js';

/** Makes the store current (or says why it cannot be): on open, before anything reads it. */
export async function openFormat(kv: Kv, readOnly: boolean): Promise<void> {
  const version = await kv.get(K.version);
  if (version === STORE_FORMAT_VERSION) return;
  if (version === undefined) {
    // A store no hub has written to yet: nothing to check, nothing to migrate.
    if (!readOnly) await kv.write([{ type: 'put', key: K.version, value: STORE_FORMAT_VERSION }], true);
    return;
  }
  if (version === '2' || version === '3' || version === '4') {
    if (readOnly) {
      throw new SwitchyardError(
        'STORE_NEEDS_MIGRATION',
        `the store is in format ${version}; this version uses format ${STORE_FORMAT_VERSION}. Start the hub on it once (it migrates on open), then check again`,
        { format: version, current: STORE_FORMAT_VERSION },
      );
    }
    if (version === '2') await migrateFormat2(kv);
    if (version !== '4') await migrateFormat3(kv);
    await migrateFormat4(kv);
    return;
  }
  throw new SwitchyardError('STORE_FAILED', `store format ${version} is not supported (expected ${STORE_FORMAT_VERSION})`);
}

/**
 * Format 5 marks follow-up work in the ready index (its signature ends `|follow-up`, so a pick
 * serves it ahead of new work in the lane). The migration moves each queued follow-up task's
 * `r!` key from the old signature to the new one, in batches (deleting a missing key and putting
 * one twice are harmless, so an interrupted run is simply run again); the version moves to 5 last.
 */
async function migrateFormat4(kv: Kv): Promise<void> {
  let ops: KvOp[] = [];
  for await (const entries of kv.entries(prefixRange(K.taskPrefix), 2000)) {
    for (const [, raw] of entries) {
      const task = JSON.parse(raw) as Task;
      if (task.status !== 'queued' || task.queued_at === null || task.queued_at === undefined) continue;
      const key = indexKeysOf(task).find((k) => k.startsWith(K.readyPrefix));
      const old = K.ready(signatureOf(task.capabilities, task.repo, task.delegate), task.lane, task.queued_at, task.id);
      if (!key || key === old) continue;
      ops.push({ type: 'del', key: old }, { type: 'put', key, value: '' });
    }
    if (ops.length >= 4000) {
      await kv.write(ops, true);
      ops = [];
    }
  }
  ops.push({ type: 'put', key: K.version, value: '5' });
  await kv.write(ops, true);
}

/**
 * Format 4 adds the finish index (`f!<status>!<finishedAt>!<id>`, keys.ts) that retention finds
 * old finished tasks by. The migration writes it for every record that implies one, in batches
 * (putting a key twice is harmless, so an interrupted run is simply run again at the next open);
 * the version moves to 4 last.
 */
async function migrateFormat3(kv: Kv): Promise<void> {
  let ops: KvOp[] = [];
  for await (const entries of kv.entries(prefixRange(K.taskPrefix), 2000)) {
    for (const [, raw] of entries) {
      for (const key of indexKeysOf(JSON.parse(raw) as Task)) if (key.startsWith(K.finishedFamily)) ops.push({ type: 'put', key, value: '' });
    }
    if (ops.length >= 4000) {
      await kv.write(ops, true);
      ops = [];
    }
  }
  ops.push({ type: 'put', key: K.version, value: '4' });
  await kv.write(ops, true);
}

/**
 * Format 2 kept a task's dependants as a list inside its record, rewritten (growing) for every
 * new dependant. Format 3 keeps one `p!` key per edge and a count in the record. The migration
 * rewrites records in batches, each record with its keys in one batch, so an interrupted one is
 * taken up again at the next open; the version moves to 3 last.
 */
async function migrateFormat2(kv: Kv): Promise<void> {
  let ops: KvOp[] = [];
  for await (const entries of kv.entries(prefixRange(K.taskPrefix), 2000)) {
    for (const [key, raw] of entries) {
      const task = JSON.parse(raw) as Task;
      if (task.dependant_count !== undefined) continue; // migrated by an earlier, interrupted run
      const dependants = task.dependants ?? [];
      delete task.dependants;
      task.dependant_count = dependants.length;
      ops.push({ type: 'put', key, value: JSON.stringify(task) });
      for (const id of dependants) ops.push({ type: 'put', key: K.dependant(task.id, id), value: '' });
    }
    if (ops.length >= 4000) {
      await kv.write(ops, true);
      ops = [];
    }
  }
  ops.push({ type: 'put', key: K.version, value: '3' });
  await kv.write(ops, true);
}
