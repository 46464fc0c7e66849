/**
 * `switchyard hub backup` and `switchyard hub restore` (docs/operations.md, "Backups", "Restore").
 *
 * backup: a running hub owns its LevelDB stores (LevelDB's lock), so the backup is taken BY the
 * hub, through POST /v1/backups, and the hub keeps serving. On a stopped hub (the stores are not
 * locked) the CLI takes it itself from the same snapshots. --hub forces the REST way.
 * restore: only on a stopped hub; it refuses while one runs.
 */
import { parseArgs } from 'node:util';
import { loadHubConfig } from '../../hub/config.js';
import { SwitchyardError } from '../../shared/errors.js';
import type { BackupEntry, BackupManifest } from '../../shared/rest.js';
import { CliError, HubClient } from '../client.js';

export const HUB_BACKUP_HELP = `Usage: switchyard hub backup [--data DIR] [--hub URL] [--token TOKEN]

Takes a backup of the hub's data (tasks and events, agents and token hashes, join tokens, the
admin token file) into DIR/backups/<UTC time>/, verifies it, and keeps the newest
$SWITCHYARD_BACKUP_KEEP (default 3). Prints the folder and what it holds.

A running hub takes the backup itself (POST /v1/backups) while it keeps serving: the CLI finds
DIR's stores locked and asks the hub at --hub (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
with the admin token (--token, $SWITCHYARD_ADMIN_TOKEN, or DIR/admin.token). A stopped hub's data
is backed up directly. --hub always asks the hub.

Options:
  --data DIR     Data folder. Default $SWITCHYARD_DATA or ./.switchyard/hub
  --hub URL      Ask the hub at URL to take the backup
  --token TOKEN  Admin token for --hub
  -h, --help     Show this help
`;

export const HUB_RESTORE_HELP = `Usage: switchyard hub restore [--from DIR] [--data DIR] [--yes]

Restores a backup into a STOPPED hub's data folder: the newest verified backup in
DATA/backups by default, or the backup folder --from names. The backup is checked first; the
current stores (and key files the backup holds) are moved aside into DATA/damaged-<UTC time>/,
never deleted; then the backup is copied in and verified.

What changed after the backup cannot be recovered from it: the restore says what is gone (tasks
created and events recorded after the backup's time, counted from the replaced store when it
can still be read) and keeps the replaced store for inspection.

Without --yes it only shows what it would restore and what would be gone, and changes nothing.
It refuses (STORE_LOCKED) while a hub runs on the folder: stop the hub first.

Options:
  --from DIR     A backup folder (DATA/backups/<time>). Default: the newest verified one
  --data DIR     Data folder. Default $SWITCHYARD_DATA or ./.switchyard/hub
  --yes          Restore (without it: a dry run)
  -h, --help     Show this help
`;

function summary(dir: string, m: BackupManifest): string {
  return (
    `backup verified: ${dir}\n` +
    `  taken ${new Date(m.created_at).toISOString()} in ${m.took_ms} ms: ${m.tasks} tasks, ${m.events} events, ${m.agents} agents` +
    `${Object.keys(m.files).length ? `; files ${Object.keys(m.files).join(', ')}` : ''}\n`
  );
}

export async function hubBackupCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { data: { type: 'string' }, hub: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HUB_BACKUP_HELP);
    return;
  }
  const config = loadHubConfig(values.data ? { dataDir: values.data } : {});
  if (!values.hub) {
    const { backupStoppedHub } = await import('../../hub/backup/index.js');
    try {
      const result = await backupStoppedHub({ dataDir: config.dataDir, keep: config.backupKeep });
      process.stdout.write(summary(result.dir, result.manifest));
      return;
    } catch (err) {
      if (!(err instanceof SwitchyardError) || err.code !== 'STORE_LOCKED') throw err;
      process.stderr.write(`the hub is running on ${config.dataDir}: asking it to take the backup\n`);
    }
  }
  const client = new HubClient({ ...(values.hub ? { hub: values.hub } : {}), ...(values.token ? { token: values.token } : {}), data: config.dataDir });
  const { body } = await client.request<BackupEntry>('POST', '/v1/backups');
  process.stdout.write(summary(body.dir, body.manifest));
}

export async function hubRestoreCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { from: { type: 'string' }, data: { type: 'string' }, yes: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HUB_RESTORE_HELP);
    return;
  }
  const config = loadHubConfig(values.data ? { dataDir: values.data } : {});
  const { previewRestore, restoreBackup } = await import('../../hub/backup/index.js');
  const options = { dataDir: config.dataDir, ...(values.from ? { from: values.from } : {}) };
  if (!values.yes) {
    const { from, manifest, lost } = await previewRestore(options);
    const iso = (ms: number) => new Date(ms).toISOString();
    process.stdout.write(
      `would restore ${from}\n  taken ${iso(manifest.created_at)}: ${manifest.tasks} tasks, ${manifest.events} events, ${manifest.agents} agents\n` +
        (lost.readable
          ? `  would be GONE: ${lost.newer_tasks} tasks created and ${lost.newer_events} events recorded after ${iso(lost.since)}${lost.until !== null ? ` (until ${iso(lost.until)})` : ''}\n`
          : `  would be GONE: every change after ${iso(lost.since)} (the current task store cannot be read, or there is none)\n`) +
        `nothing changed: run again with --yes to restore (the current stores are moved aside, not deleted)\n`,
    );
    throw new CliError('dry run: pass --yes to restore', 1);
  }
  const report = await restoreBackup(options);
  process.stdout.write(`${report.lines.join('\n')}\n`);
}
