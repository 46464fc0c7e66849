/**
 * What a backup holds: every LevelDB store and every key file the hub keeps in its data folder.
 * ONE list each, so a later store (push subscriptions in their own database, say) or key file
 * (`vapid.json`) is one line here, and backup, verify and restore all follow.
 */

export interface HubStoreEntry {
  /** The name in the manifest and in the running hub's snapshot sources. */
  name: string;
  /** Its folder under `<data>/` (and under the backup's folder). */
  dir: string;
  /** For people: what a restore brings back with it. */
  holds: string;
}

export const HUB_STORES: readonly HubStoreEntry[] = [
  { name: 'tasks', dir: 'tasks', holds: 'tasks, their events and indexes' },
  { name: 'agents', dir: 'agents', holds: 'agents, their token hashes, join tokens' },
];

export interface HubFileEntry {
  /** The file name under `<data>/`. */
  name: string;
  /** The mode it is written with (secrets stay 0600). */
  mode: number;
}

/** Key files, copied when present (the admin token is not on disk when SWITCHYARD_ADMIN_TOKEN gives it). */
export const HUB_FILES: readonly HubFileEntry[] = [
  { name: 'admin.token', mode: 0o600 },
  { name: 'vapid.json', mode: 0o600 },
];

/** The folder backups go to, under the data folder. */
export const BACKUPS_DIR = 'backups';
/** A backup being written: never counted, removed at the next start. */
export const PARTIAL_PREFIX = '.partial-';
export const MANIFEST_FILE = 'manifest.json';
