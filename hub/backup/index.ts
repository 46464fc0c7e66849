/**
 * Online backups and restore of the hub's data folder (docs/operations.md, "Backups", "Restore").
 *
 *   takeBackup({ dataDir, sources, keep })   a running hub's backup, from store snapshots
 *   backupStoppedHub({ dataDir, keep })      the same for a stopped hub (the CLI)
 *   listBackups(dataDir)                     the verified backups, newest first
 *   restoreBackup({ dataDir, from?, log })   a stopped hub's restore, with what is gone
 *   prepareDataDir(dataDir, log)             at the hub's start: finish an interrupted restore,
 *                                            remove backups that never finished
 *
 * What a backup holds is HUB_STORES and HUB_FILES (stores.ts): add a store or key file there.
 */
import type { Logger } from 'pino';
import { finishInterruptedRestore } from './restore.js';
import { removePartials } from './take.js';

export { HUB_FILES, HUB_STORES } from './stores.js';
export { BACKUP_FORMAT, readManifest } from './manifest.js';
export { verifyBackup } from './verify.js';
export { backupsDirOf, backupStoppedHub, listBackups, pruneBackups, removePartials, takeBackup, type BackupResult, type SnapshotSources, type TakeBackupOptions } from './take.js';
export { describe as describeRestore, finishInterruptedRestore, previewRestore, restoreBackup, type RestoreLoss, type RestoreOptions, type RestorePreview, type RestoreReport } from './restore.js';

/** What the hub's start does to its data folder before opening the stores. */
export async function prepareDataDir(dataDir: string, log?: Logger): Promise<void> {
  await finishInterruptedRestore(dataDir, log);
  await removePartials(dataDir, log);
}
