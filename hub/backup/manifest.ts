/**
 * A backup's manifest (`manifest.json`): what is in the backup, written after its stores are
 * synced and closed, and read before anything trusts the folder. The schema is BackupManifest
 * (shared/rest.ts), served as is by GET /v1/backups.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { SwitchyardError } from '../../shared/errors.js';
import { BackupManifest } from '../../shared/rest.js';
import { canonicalJson, sha256 } from './digest.js';
import { MANIFEST_FILE } from './stores.js';

/**
 * The format this version writes and reads. A change to what a backup holds or how it is
 * checked is a new format; a restore refuses a newer one rather than guess.
 */
export const BACKUP_FORMAT = 1;

export function checksumOf(manifest: Omit<BackupManifest, 'checksum'> & { checksum?: string }): string {
  const { checksum: _ignored, ...rest } = manifest;
  return sha256(canonicalJson(rest));
}

export async function writeManifest(dir: string, manifest: Omit<BackupManifest, 'checksum'>): Promise<BackupManifest> {
  const full: BackupManifest = { ...manifest, checksum: checksumOf(manifest) };
  await writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(full, null, 2)}\n`);
  return full;
}

/**
 * The manifest of the backup in `dir`, checked: BACKUP_INVALID for a folder that is not a
 * backup (no manifest, not JSON, not the schema, a checksum that does not match), BACKUP_TOO_NEW
 * for a backup a newer version wrote.
 */
export async function readManifest(dir: string): Promise<BackupManifest> {
  let raw: string;
  try {
    raw = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SwitchyardError(
      'BACKUP_INVALID',
      code === 'ENOENT' ? `${dir} is not a backup: it has no ${MANIFEST_FILE}` : `cannot read ${join(dir, MANIFEST_FILE)}: ${(err as Error).message}`,
      { dir },
      { cause: err },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SwitchyardError('BACKUP_INVALID', `${join(dir, MANIFEST_FILE)} is not JSON: the backup is damaged`, { dir });
  }
  const format = (parsed as { format?: unknown } | null)?.format;
  if (typeof format === 'number' && format > BACKUP_FORMAT) {
    throw new SwitchyardError(
      'BACKUP_TOO_NEW',
      `the backup in ${dir} is in format ${format}, newer than this version reads (${BACKUP_FORMAT}): restore it with the Switchyard version that wrote it`,
      { dir, format, supported: BACKUP_FORMAT },
    );
  }
  if (!Value.Check(BackupManifest, parsed)) {
    const first = [...Value.Errors(BackupManifest, parsed)][0];
    throw new SwitchyardError('BACKUP_INVALID', `${join(dir, MANIFEST_FILE)} is not a backup manifest (${first?.path || '(root)'}: ${first?.message ?? 'invalid'})`, { dir });
  }
  if (checksumOf(parsed) !== parsed.checksum) {
    throw new SwitchyardError('BACKUP_INVALID', `the manifest of ${dir} does not match its checksum: the backup is damaged`, { dir });
  }
  return parsed;
}
