/**
 * Verifies a backup folder against its manifest: each store opens, its keys count and hash as
 * the manifest says, and each key file hashes as it says. A backup counts only once this passed
 * (takeBackup renames it into place after), and a restore checks its staged copy the same way.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SwitchyardError } from '../../shared/errors.js';
import type { BackupManifest } from '../../shared/rest.js';
import { openLevelKv } from '../store/level-kv.js';
import { StoreDigest, sha256 } from './digest.js';
import { HUB_STORES } from './stores.js';

/** Throws BACKUP_INVALID naming the first difference; resolves when `dir` holds what `manifest` says. */
export async function verifyBackup(dir: string, manifest: BackupManifest): Promise<void> {
  for (const store of HUB_STORES) {
    const expected = manifest.stores[store.name];
    if (!expected) throw new SwitchyardError('BACKUP_INVALID', `the manifest of ${dir} lists no store '${store.name}'`, { dir });
    const digest = await digestStore(join(dir, store.dir), dir);
    const got = digest.result();
    if (got.keys !== expected.keys || got.sha256 !== expected.sha256) {
      throw new SwitchyardError(
        'BACKUP_INVALID',
        `the backup's '${store.name}' store differs from its manifest (${got.keys} keys, manifest says ${expected.keys}; checksum ${got.sha256 === expected.sha256 ? 'matches' : 'differs'}): the backup is damaged`,
        { dir, store: store.name },
      );
    }
  }
  for (const [name, expected] of Object.entries(manifest.files)) {
    let data: Buffer;
    try {
      data = await readFile(join(dir, name));
    } catch (err) {
      throw new SwitchyardError('BACKUP_INVALID', `the backup lacks ${name}, which its manifest lists`, { dir }, { cause: err });
    }
    if (data.length !== expected.bytes || sha256(data) !== expected.sha256) {
      throw new SwitchyardError('BACKUP_INVALID', `the backup's ${name} differs from its manifest: the backup is damaged`, { dir });
    }
  }
}

async function digestStore(location: string, dir: string): Promise<StoreDigest> {
  let kv;
  try {
    kv = await openLevelKv(location, { readOnly: true });
  } catch (err) {
    throw new SwitchyardError('BACKUP_INVALID', `cannot open the backup's store at ${location}: ${(err as Error).message}`, { dir }, { cause: err });
  }
  const digest = new StoreDigest();
  try {
    for await (const entries of kv.entries({}, 1000)) {
      for (const [key, value] of entries) digest.add(key, value);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    await kv.close();
  }
  return digest;
}
