/** `switchyard status` and `switchyard teardown` — this host's onboarded sidecar (cli/onboard/). */
import { parseArgs } from 'node:util';
import { defaultHome } from '../onboard/layout.js';
import { formatStatus, hostStatus } from '../onboard/status.js';
import { teardown } from '../onboard/teardown.js';

export const STATUS_HELP = `Usage: switchyard status [--data DIR] [--json]

This host's onboarded sidecar: its pm2 app (state, pid, uptime, restarts, memory), what the hub
sees of it (connection, executors and why one is unavailable, current tasks), and the hub's
summary (agents by state, queue depth). Exits 0 when pm2 runs it and the hub has it connected,
1 otherwise (each problem is printed with what to do).

Options:
  --data DIR   The folder it was onboarded with (default $SWITCHYARD_SIDECAR_DATA or ~/.switchyard/agent)
  --json       Print JSON
  -h, --help   Show this help
`;

export const TEARDOWN_HELP = `Usage: switchyard teardown [--keep-data] [--data DIR]

Removes this host's onboarded agent, safely rerunnable:
  1 Drain       pm2 stops the sidecar: running tasks finish (up to its drain grace, 30 s) or are
                handed back to the hub for another agent
  2 pm2         its pm2 app deleted, pm2's saved list updated
  3 Deregister  the agent removed at the hub; its token stops working
  4 Files       token and onboarding state removed; config, logs, clones and worktrees too
                unless --keep-data
A hub that cannot be reached stops it before any file is removed: run it again later.

Options:
  --keep-data  Keep the config, logs, clones and worktrees
  --data DIR   The folder it was onboarded with (default $SWITCHYARD_SIDECAR_DATA or ~/.switchyard/agent)
  -h, --help   Show this help
`;

export async function statusCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { data: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(STATUS_HELP);
    return;
  }
  const s = await hostStatus(defaultHome(values.data));
  process.stdout.write(values.json ? `${JSON.stringify(s, null, 2)}\n` : formatStatus(s));
  if (!s.healthy) process.exitCode = 1;
}

export async function teardownCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { data: { type: 'string' }, 'keep-data': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(TEARDOWN_HELP);
    return;
  }
  await teardown({ home: defaultHome(values.data), keepData: values['keep-data'] === true, out: (t) => process.stdout.write(t) });
}
