/** `switchyard sidecar` — run an agent host's sidecar in the foreground. */
import { parseArgs } from 'node:util';
import { loadSidecarConfig } from '../../sidecar/config.js';
import { buildExecutors } from '../../sidecar/executor-set.js';
import { scrubSecrets } from '../../sidecar/child-env.js';
import { Sidecar } from '../../sidecar/sidecar.js';
import { createLogger } from '../../shared/logger.js';

export const SIDECAR_HELP = `Usage: switchyard sidecar [options]

Connects this host to a hub and runs the tasks it is given. Reconnects forever; SIGTERM drains
(running tasks finish or, after the grace period, are handed back) before exiting.

Options:
  --hub URL            Hub URL (or $SWITCHYARD_HUB), e.g. http://10.0.0.5:7070
  --agent ID           Agent id registered with \`switchyard agent add\` (or $SWITCHYARD_AGENT_ID)
  --token-file FILE    File holding the agent token, mode 0600 (or $SWITCHYARD_TOKEN_FILE); best:
                       the token is then in no environment and no argv
  --token T            Agent token (or $SWITCHYARD_TOKEN); shows in ps, prefer --token-file
  --config FILE        JSON config file (any option below, plus "repos"); flags and env override it
  --data DIR           Local state and workspaces (default ./.switchyard/sidecar-<agent>)
  --capabilities LIST  Comma-separated capabilities this host offers
  --concurrency N      Tasks at once (default 1)
  --executors LIST     Comma-separated: shell,ollama,claude (default shell)
  -h, --help           Show this help
`;

export async function sidecarCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      hub: { type: 'string' },
      agent: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      config: { type: 'string' },
      data: { type: 'string' },
      capabilities: { type: 'string' },
      concurrency: { type: 'string' },
      executors: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(SIDECAR_HELP);
    return;
  }
  // Strings as given: the config schema converts them (lists split at commas) and names the flag
  // in any error.
  const config = loadSidecarConfig({
    configFile: values.config,
    hubUrl: values.hub,
    agentId: values.agent,
    token: values.token,
    tokenFile: values['token-file'],
    dataDir: values.data,
    capabilities: values.capabilities,
    maxConcurrency: values.concurrency,
    executors: values.executors,
  });
  // The token is in the frozen config now; nothing this process starts may inherit it.
  scrubSecrets(process.env);
  const log = createLogger('sidecar', config.logLevel).child({ agent_id: config.agentId });
  const sidecar = new Sidecar(config, buildExecutors(config), log);
  await sidecar.start();
  log.info({ hub: config.hubUrl, data: config.dataDir }, 'sidecar started');
  let stopping = false;
  const drain = (signal: string) => {
    if (stopping) {
      log.warn('second signal: stopping now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'draining before exit');
    sidecar.drain().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'drain failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => drain('SIGTERM'));
  process.on('SIGINT', () => drain('SIGINT'));
}
