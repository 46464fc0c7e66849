#!/usr/bin/env node
/**
 * The `switchyard` command: one entry point, a subcommand per job. Each command's module is
 * loaded only when it runs, so `task list` does not pay for loading the hub and LevelDB.
 */
import { exitOnError } from './exit.js';
import { CliError } from './client.js';

const HELP = `Usage: switchyard <command> [options]

Commands:
  up        Start a local hub, two sidecars and a demo (what npm start runs)
  hub       Run the hub (task queue, REST API, sidecar gateway)
  sidecar   Run a sidecar on an agent host
  task      Submit, list, show, cancel and retry tasks
  agent     Register, list and remove agents; invite new hosts
  token     API tokens with a role (admin, operator, viewer, metrics); rotate the admin token
  limits    Rate limits in force; raise, lower or exempt one caller
  routing   The routing policy: tiers, candidates, waits; set from a file, reset
  repo      The repo registry: add, list, show, pause, resume, move (priority), remove
  audit     Who changed what (filter by actor, action, time)
  usage     Tokens and cost per repo, day, model or executor (usage --by repo,day --since 7d)
  budget    Daily budgets per repo: set, list (today's spend), remove
  alerts    List the hub's alerts; acknowledge one (alerts ack ID)
  escalations  What needs a person: open escalations; show or resolve one
  onboard   Make this host an agent of a hub (switchyard onboard --hub URL --join TOKEN)
  status    This host's sidecar (pm2, hub connection, tasks) and the hub's summary
  submit    Submit a coding task for the repo of this checkout and follow it
  teardown  Remove this host's agent (drain, pm2, deregister, files)
  notify    Push notifications: send a test, list and remove subscribed browsers
  history   A repo's project history (history REPO [--archived|--all] [--q WORDS])
  mcp       The hub's MCP tools on stdio, for Claude Code and other MCP clients

Run 'switchyard <command> --help' for a command's options.
`;

const commands: Record<string, () => Promise<(argv: string[]) => Promise<void>>> = {
  up: async () => (await import('./commands/up.js')).upCommand,
  hub: async () => (await import('./commands/hub.js')).hubCommand,
  sidecar: async () => (await import('./commands/sidecar.js')).sidecarCommand,
  task: async () => (await import('./commands/task.js')).taskCommand,
  agent: async () => (await import('./commands/agent.js')).agentCommand,
  token: async () => (await import('./commands/token.js')).tokenCommand,
  limits: async () => (await import('./commands/limits.js')).limitsCommand,
  routing: async () => (await import('./commands/routing.js')).routingCommand,
  repo: async () => (await import('./commands/repo.js')).repoCommand,
  audit: async () => (await import('./commands/audit.js')).auditCommand,
  usage: async () => (await import('./commands/usage.js')).usageCommand,
  budget: async () => (await import('./commands/usage.js')).budgetCommand,
  alerts: async () => (await import('./commands/alerts.js')).alertsCommand,
  escalations: async () => (await import('./commands/escalations.js')).escalationsCommand,
  onboard: async () => (await import('./commands/onboard.js')).onboardCommand,
  status: async () => (await import('./commands/host.js')).statusCommand,
  submit: async () => (await import('./commands/submit.js')).submitCommand,
  teardown: async () => (await import('./commands/host.js')).teardownCommand,
  notify: async () => (await import('./commands/notify.js')).notifyCommand,
  history: async () => (await import('./commands/history.js')).historyCommand,
  mcp: async () => (await import('./commands/mcp.js')).mcpCommand,
};

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const load = commands[name];
  if (!load) throw new CliError(`unknown command '${name}'\n\n${HELP}`, 2);
  await (await load())(rest);
}

main(process.argv.slice(2)).catch(exitOnError('switchyard'));
