/**
 * Takes a backup: snapshots of every store (HUB_STORES) copied into
 * `<data>/backups/.partial-<UTC time>/`, the key files (HUB_FILES) beside them, the manifest,
 * a verification of the whole folder, then one atomic rename to `<data>/backups/<UTC time>/`.
 * Only a folder without the `.partial-` prefix is a backup: one interrupted (kill -9, a full
 * disk) never counts, and `removePartials` clears it at the next start. Then the oldest verified
 * backups beyond `keep` are removed.
 */
import { mkdir, readFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { SwitchyardError } from '../../shared/errors.js';
import type { BackupEntry, BackupManifest } from '../../shared/rest.js';
import { decodeTime } from '../store/ids.js';
import { K } from '../store/keys.js';
import type { Kv, KvSnapshot } from '../store/kv.js';
import { openLevelKv } from '../store/level-kv.js';
import { sha256 } from './digest.js';
import { isNoSpace, removeTree, syncPath, timeName } from './fs-util.js';
import { BACKUP_FORMAT, readManifest, writeManifest } from './manifest.js';
import { copySnapshot } from './snapshot.js';
import { BACKUPS_DIR, HUB_FILES, HUB_STORES, PARTIAL_PREFIX } from './stores.js';
import { verifyBackup } from './verify.js';

/** Takes a snapshot of each store by name (HUB_STORES), at the moment it is called. */
export type SnapshotSources = Readonly<Record<string, () => KvSnapshot>>;

export interface TakeBackupOptions {
  dataDir: string;
  sources: SnapshotSources;
  /** Verified backups to keep, newest first; older ones are removed. @defaultValue 3 */
  keep?: number;
  now?: () => number;
  log?: Logger;
  /** Abandons the backup (the hub is stopping): BACKUP_FAILED, the partial folder removed. */
  signal?: AbortSignal;
}

export interface BackupResult {
  dir: string;
  manifest: BackupManifest;
}

export function backupsDirOf(dataDir: string): string {
  return join(dataDir, BACKUPS_DIR);
}

export async function takeBackup(options: TakeBackupOptions): Promise<BackupResult> {
  const now = options.now ?? Date.now;
  const root = backupsDirOf(options.dataDir);
  const createdAt = now();
  let partial: string | null = null;
  try {
    await mkdir(root, { recursive: true });
    const name = await freeName(root, createdAt);
    partial = join(root, `${PARTIAL_PREFIX}${name}`);
    await mkdir(partial);
    // Every snapshot in the same tick, before any await: the stores as they were at one moment.
    const snapshots = HUB_STORES.map((store) => {
      const take = options.sources[store.name];
      if (!take) throw new SwitchyardError('BACKUP_FAILED', `the hub gave no snapshot of its '${store.name}' store`);
      return take();
    });
    const stores: BackupManifest['stores'] = {};
    let storeFormat = '';
    let newestEvent: string | null = null;
    let newestEventAt: number | null = null;
    try {
      for (const [i, store] of HUB_STORES.entries()) {
        const digest = await copySnapshot(snapshots[i]!, join(partial, store.dir), { pick: [K.version], ...(options.signal ? { signal: options.signal } : {}) });
        stores[store.name] = digest.result();
        if (store.name === 'tasks') {
          storeFormat = digest.picked.get(K.version) ?? '';
          const last = digest.lastByPrefix.get('e');
          if (last) {
            newestEvent = last[0].slice(K.eventPrefix.length);
            newestEventAt = eventTime(last[1]) ?? decodeTime(newestEvent.slice(0, 10));
          }
        }
      }
    } finally {
      await Promise.all(snapshots.map((s) => s.close().catch(() => undefined)));
    }
    const files: BackupManifest['files'] = {};
    for (const file of HUB_FILES) {
      const data = await readIfPresent(join(options.dataDir, file.name));
      if (data === null) continue;
      await writeFileAtomic(join(partial, file.name), data, file.mode);
      files[file.name] = { bytes: data.length, sha256: sha256(data) };
    }
    const written = await writeManifest(partial, {
      format: BACKUP_FORMAT,
      name,
      created_at: createdAt,
      took_ms: Math.max(0, now() - createdAt),
      store_format: storeFormat,
      stores,
      files,
      tasks: stores.tasks?.by_prefix.t ?? 0,
      events: stores.tasks?.by_prefix.e ?? 0,
      agents: stores.agents?.by_prefix.g ?? 0,
      newest_event_id: newestEvent,
      newest_event_at: newestEventAt,
    });
    // Read back what is on disk, not what was meant to be written.
    const manifest = await readManifest(partial);
    if (manifest.checksum !== written.checksum) throw new SwitchyardError('BACKUP_FAILED', 'the manifest read back differs from the one written');
    await verifyBackup(partial, manifest);
    const dir = join(root, name);
    await syncPath(partial);
    await rename(partial, dir);
    partial = null;
    await syncPath(root);
    await pruneBackups(options.dataDir, options.keep ?? 3, options.log);
    return { dir, manifest };
  } catch (err) {
    if (partial) await removeTree(partial).catch(() => undefined);
    throw asBackupError(err, root);
  }
}

/** An event record's `at` (ms), or null if it does not parse as one. */
function eventTime(raw: string): number | null {
  try {
    const at = (JSON.parse(raw) as { at?: unknown }).at;
    return typeof at === 'number' && at >= 0 ? at : null;
  } catch {
    return null;
  }
}

/** The backup's folder name: its UTC time, one millisecond on if two land in the same one. */
async function freeName(root: string, at: number): Promise<string> {
  const taken = new Set(await readdir(root));
  let t = at;
  while (taken.has(timeName(t)) || taken.has(`${PARTIAL_PREFIX}${timeName(t)}`)) t++;
  return timeName(t);
}

async function readIfPresent(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export function asBackupError(err: unknown, root: string): SwitchyardError {
  if (isNoSpace(err)) {
    return new SwitchyardError(
      'BACKUP_FAILED',
      `no space left on the disk under ${root}: the backup was not kept. Free space there (or keep fewer backups: SWITCHYARD_BACKUP_KEEP) and take it again`,
      { errno: 'ENOSPC' },
      { cause: err },
    );
  }
  if (err instanceof SwitchyardError && err.code.startsWith('BACKUP_')) {
    return err.code === 'BACKUP_INVALID'
      ? new SwitchyardError('BACKUP_FAILED', `the backup did not verify: ${err.message}`, undefined, { cause: err })
      : err;
  }
  if (err instanceof SwitchyardError && err.code === 'STORE_CLOSED') return err;
  return new SwitchyardError('BACKUP_FAILED', `the backup failed: ${(err as Error).message}`, undefined, { cause: err });
}

/** The verified backups in `<data>/backups`, newest first (a folder that does not verify as a backup is skipped). */
export async function listBackups(dataDir: string): Promise<BackupEntry[]> {
  const root = backupsDirOf(dataDir);
  let names: string[];
  try {
    names = await readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: BackupEntry[] = [];
  for (const name of names.filter((n) => !n.startsWith('.')).sort().reverse()) {
    const dir = join(root, name);
    try {
      out.push({ dir, manifest: await readManifest(dir) });
    } catch {
      // Not a backup (someone's own folder, or a damaged one): listed by nothing, removed by nothing.
    }
  }
  return out;
}

/** Removes the verified backups beyond the newest `keep`. Returns the folders removed. */
export async function pruneBackups(dataDir: string, keep: number, log?: Logger): Promise<string[]> {
  const old = (await listBackups(dataDir)).slice(Math.max(1, keep));
  for (const entry of old) {
    await removeTree(entry.dir);
    log?.info({ dir: entry.dir }, 'removed an old backup');
  }
  return old.map((e) => e.dir);
}

/** Removes backups that never finished (`.partial-*`: a kill -9 or a full disk mid-backup). At the hub's start. */
export async function removePartials(dataDir: string, log?: Logger): Promise<string[]> {
  const root = backupsDirOf(dataDir);
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names.filter((n) => n.startsWith(PARTIAL_PREFIX))) {
    await removeTree(join(root, name));
    removed.push(join(root, name));
    log?.warn({ dir: join(root, name) }, 'removed a backup that did not finish (the hub stopped while taking it)');
  }
  return removed;
}

/**
 * A backup of a stopped hub's data folder (the CLI, when no hub holds the stores): the stores
 * are opened read-only and snapshotted like a running hub's. STORE_LOCKED when a hub has them.
 */
export async function backupStoppedHub(options: Omit<TakeBackupOptions, 'sources'>): Promise<BackupResult> {
  const kvs: Kv[] = [];
  try {
    for (const store of HUB_STORES) kvs.push(await openLevelKv(join(options.dataDir, store.dir), { readOnly: true }));
    // The stores' locks are ours: no hub runs here, so a .partial- folder is a dead one.
    await removePartials(options.dataDir, options.log);
    const sources: Record<string, () => KvSnapshot> = {};
    HUB_STORES.forEach((store, i) => (sources[store.name] = () => kvs[i]!.snapshot()));
    return await takeBackup({ ...options, sources });
  } finally {
    await Promise.all(kvs.map((kv) => kv.close().catch(() => undefined)));
  }
}
