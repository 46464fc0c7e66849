/** `switchyard hub` — run the hub in the foreground. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startHub } from '../../hub/app.js';
import { loadHubConfig } from '../../hub/config.js';
import { SwitchyardError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';

export const HUB_HELP = `Usage: switchyard hub [options]
       switchyard hub check [--data DIR]

Runs the hub: the durable task queue, the REST API, and the WebSocket gateway for sidecars.
'hub check' opens a stopped hub's store read-only (no sweep, no migration: it changes nothing)
and checks every index entry against its record.

Options:
  --data DIR    Data folder (LevelDB stores, admin.token). Default $SWITCHYARD_DATA or ./.switchyard/hub
  --port P      Port (default $SWITCHYARD_PORT or 7070; 0 picks a free one)
  --host H      Address to bind (default $SWITCHYARD_HOST or 127.0.0.1; use 0.0.0.0 to accept other hosts)
  -h, --help    Show this help

Environment: SWITCHYARD_ADMIN_TOKEN (else one is generated into DIR/admin.token, mode 0600),
SWITCHYARD_ACCEPT_TIMEOUT_MS, SWITCHYARD_LEASE_MS, SWITCHYARD_HEARTBEAT_MS, SWITCHYARD_PING_MS, SWITCHYARD_LOG_LEVEL,
SWITCHYARD_PUSH_SUBJECT (the VAPID contact, mailto: or https:; docs/push.md).
Logs are JSON lines on stdout.
`;

export async function hubCommand(argv: string[]): Promise<void> {
  if (argv[0] === 'check') return checkCommand(argv.slice(1));
  const { values } = parseArgs({
    args: argv,
    options: { data: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HUB_HELP);
    return;
  }
  const config = loadHubConfig({
    ...(values.data ? { dataDir: values.data } : {}),
    ...(values.port ? { port: values.port } : {}),
    ...(values.host ? { host: values.host } : {}),
  });
  const log = createLogger('hub', config.logLevel);
  const hub = await startHub(config, log);
  log.info({ url: hub.url, data: config.dataDir, admin_token_path: hub.adminTokenPath }, `hub listening on ${hub.url}`);
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
  process.stderr.write(`checking ${config.dataDir}/tasks (a full scan)...\n`);
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
