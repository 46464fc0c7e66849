/** `switchyard hub` — run the hub in the foreground. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startHub } from '../../hub/app.js';
import { missingNodeFlags } from '../../hub/node-flags.js';
import { loadHubConfig } from '../../hub/config.js';
import { SwitchyardError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';

export const HUB_HELP = `Usage: switchyard hub [options]
       switchyard hub check [--data DIR]
       switchyard hub backup [--data DIR] [--hub URL]     (see switchyard hub backup --help)
       switchyard hub restore [--from DIR] [--data DIR] [--yes]
       switchyard hub ack [--hub URL]                     (see switchyard hub ack --help)

Runs the hub: the durable task queue, the REST API, and the WebSocket gateway for sidecars.
'hub check' checks a stopped hub's data folder and changes nothing in it: each store's files by
their checksums (CURRENT, MANIFEST, logs, tables), then the store opened read-only (no sweep, no
migration) with every index entry checked against its record, and the task store against the
watermark (the newest change the hub acknowledged) and the newest backup. It exits 1 on any
problem: DAMAGED (a file, named) or LOST WRITES (the store is behind what was acknowledged).
'hub backup' takes a verified online backup (a running hub takes it while it serves);
'hub restore' puts one back into a stopped hub. 'hub ack' acknowledges a degraded state that
waits for an operator (a recovery that lost acknowledged writes).

Options:
  --data DIR    Data folder (LevelDB stores, admin.token). Default $SWITCHYARD_DATA or ./.switchyard/hub
  --port P      Port (default $SWITCHYARD_PORT or 7070; 0 picks a free one)
  --host H      Address to bind (default $SWITCHYARD_HOST or 127.0.0.1; use 0.0.0.0 to accept other hosts)
  --backup-every-ms MS  Scheduled backups into DIR/backups (default $SWITCHYARD_BACKUP_EVERY_MS or 6 h; 0: off)
  --on-corruption restore|repair|refuse
                What to do at start with a damaged store, or one short of acknowledged writes
                (default $SWITCHYARD_ON_CORRUPTION or restore): restore = repair a copy, use it if
                whole, else restore the newest backup; repair = use the repaired copy, reporting
                what it lacks; refuse = exit with the problem. See docs/operations.md.
  -h, --help    Show this help

Environment: SWITCHYARD_ADMIN_TOKEN (else one is generated into DIR/admin.token, mode 0600),
SWITCHYARD_BACKUP_KEEP (backups kept, default 3), SWITCHYARD_ACCEPT_TIMEOUT_MS, SWITCHYARD_LEASE_MS,
SWITCHYARD_HEARTBEAT_MS, SWITCHYARD_PING_MS, SWITCHYARD_LOG_LEVEL, SWITCHYARD_ON_CORRUPTION;
alert rules: SWITCHYARD_ALERT_* (check interval, cooldown, repeat, thresholds, severity overrides; docs/alerts.md),
SWITCHYARD_METRICS_PER_AGENT_MAX (docs/metrics.md),
SWITCHYARD_PUSH_SUBJECT (the VAPID contact, mailto: or https:; docs/push.md).
Logs are JSON lines on stdout.
`;

export async function hubCommand(argv: string[]): Promise<void> {
  if (argv[0] === 'check') return checkCommand(argv.slice(1));
  if (argv[0] === 'backup') return (await import('./hub-backup.js')).hubBackupCommand(argv.slice(1));
  if (argv[0] === 'ack') return (await import('./hub-ack.js')).hubAckCommand(argv.slice(1));
  if (argv[0] === 'restore') return (await import('./hub-backup.js')).hubRestoreCommand(argv.slice(1));
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'backup-every-ms': { type: 'string' },
      'on-corruption': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HUB_HELP);
    return;
  }
  const config = loadHubConfig({
    ...(values.data ? { dataDir: values.data } : {}),
    ...(values.port ? { port: values.port } : {}),
    ...(values.host ? { host: values.host } : {}),
    ...(values['backup-every-ms'] !== undefined ? { backupEveryMs: values['backup-every-ms'] } : {}),
    ...(values['on-corruption'] ? { onCorruption: values['on-corruption'] } : {}),
  });
  const log = createLogger('hub', config.logLevel);
  const hub = await startHub(config, log);
  log.info({ url: hub.url, data: config.dataDir, admin_token_path: hub.adminTokenPath }, `hub listening on ${hub.url}`);
  const missing = missingNodeFlags();
  if (missing.length > 0) {
    log.info(
      { missing_node_flags: missing },
      `node runs this hub without ${missing.join(' ')}, which pm2 and npm start give it (about half the store's CPU per task, docs/benchmarks.md): NODE_OPTIONS='${missing.join(' ')}' switchyard hub …`,
    );
  }
  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    hub.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

/** `switchyard hub check`: the store's integrity, for an operator after a crash or a disk scare. */
async function checkCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { data: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HUB_HELP);
    return;
  }
  const config = loadHubConfig(values.data ? { dataDir: values.data } : {});
  const { openTaskStore } = await import('../../hub/store/level-task-store.js');
  const { inspectStores } = await import('../../hub/recovery/inspect.js');
  process.stderr.write(`checking ${config.dataDir} (its files, then a full scan)...\n`);
  // The files are checked before LevelDB opens a store (it would replay and delete a damaged log).
  const found = await inspectStores(config.dataDir);
  if (found.fresh) {
    process.stdout.write(`NO STORE: ${config.dataDir} holds no hub store\n`);
    process.exitCode = 1;
    return;
  }
  for (const note of found.notes) process.stderr.write(`note: ${note}\n`);
  if (found.problems.length > 0) {
    for (const p of found.problems) process.stdout.write(`${p.kind === 'damaged' ? 'DAMAGED' : 'LOST WRITES'}: ${p.file} ${p.problem}\n`);
    process.stdout.write(
      `The hub would ${config.onCorruption === 'refuse' ? 'refuse to start' : `try to recover at start (--on-corruption ${config.onCorruption})`}; ` +
        `\`switchyard hub restore\` restores the newest backup. See docs/operations.md, "Corruption and recovery at start".\n`,
    );
    process.exitCode = 1;
    return;
  }
  // Read-only: the check sees the store as the hub left it (no sweep of expired leases, no
  // migration) and changes nothing in it.
  let store;
  try {
    store = await openTaskStore(join(config.dataDir, 'tasks'), { readOnly: true });
  } catch (err) {
    if (!(err instanceof SwitchyardError) || err.code !== 'STORE_NEEDS_MIGRATION') throw err;
    process.stdout.write(`NEEDS MIGRATION: ${err.message}\n`);
    process.exitCode = 1;
    return;
  }
  try {
    const report = await store.verifyIntegrity();
    const stats = await store.stats();
    process.stdout.write(`${report.ok ? 'ok' : 'PROBLEMS FOUND'}: ${report.tasks} tasks; queued ${JSON.stringify(stats.queued)}\n`);
    for (const p of report.problems) process.stdout.write(`  ${p}\n`);
    if (!report.ok) process.exitCode = 1;
  } finally {
    await store.close();
  }
}
