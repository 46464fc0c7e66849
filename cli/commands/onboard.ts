/** `switchyard onboard` — make this host an agent of a hub, in one command (cli/onboard/onboard.ts). */
import { parseArgs } from 'node:util';
import { CliError } from '../client.js';
import { defaultHome } from '../onboard/layout.js';
import { onboard, parseRepo } from '../onboard/onboard.js';
import { STEPS, type StepName } from '../onboard/state.js';

export const ONBOARD_HELP = `Usage: switchyard onboard --hub URL --join TOKEN [--repo name=url …] [--name N] [options]

Makes this host an agent of a hub, in seven steps, each printed with its outcome:
  1 Preflight  Node.js, git, free disk, the hub (reachable, same protocol), the join token;
               what this host can run: Ollama (models, a real generation), Claude Code (logged in?),
               gh (logged in?), GPUs (nvidia-smi), and whether each --repo can be reached
  2 Name       a Culture ship name no agent of the hub has (or --name)
  3 Register   the join token exchanged for the agent's token, kept in a 0600 file
  4 Config     the sidecar's config, from what preflight found
  5 Repos      clone (or verify) each --repo
  6 pm2        start the sidecar under pm2 (restarts with backoff), pm2 save
  7 Verify     the hub sees the agent online; a smoke task delegated to it completes on it

Interrupted (even kill -9)? Run the same command again: it continues at the first unfinished
step and never registers a second agent or starts a second process. Once onboarded, running it
again only verifies. Get the command from the hub: switchyard agent invite.

Options:
  --hub URL            The hub, e.g. http://10.0.0.5:7070
  --join TOKEN         The join token from switchyard agent invite (or $SWITCHYARD_JOIN_TOKEN)
  --repo name=url      A repo tasks may name (repeatable); url may be a path of an existing checkout
  --name N             The agent's name (default: a free Culture ship name)
  --data DIR           The sidecar's folder: state, config, token, logs, clones
                       (default $SWITCHYARD_SIDECAR_DATA or ~/.switchyard/agent); one per agent
  --capabilities LIST  More capabilities to offer (comma-separated), beyond the invitation's
  --concurrency N      Tasks at once (default 1)
  --ollama-url URL     Where Ollama listens (default $OLLAMA_HOST or http://127.0.0.1:11434)
  --claude-bin PATH    The Claude Code CLI (default claude, on PATH)
  --redetect           Run preflight again (after installing Ollama, Claude Code, a GPU driver),
                       rewrite the config, restart the sidecar and verify
  --timeout S          How long Verify waits for the agent and for its smoke task (default 120)
  -h, --help           Show this help

Then: switchyard status (this host), switchyard teardown (remove it). docs/onboarding.md has more.
`;

export async function onboardCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      hub: { type: 'string' },
      join: { type: 'string' },
      repo: { type: 'string', multiple: true },
      name: { type: 'string' },
      data: { type: 'string' },
      capabilities: { type: 'string' },
      concurrency: { type: 'string' },
      'ollama-url': { type: 'string' },
      'claude-bin': { type: 'string' },
      redetect: { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(ONBOARD_HELP);
    return;
  }
  const num = (flag: string, v: string | undefined, min: number, max: number) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`--${flag} must be a whole number from ${min} to ${max}`, 2);
    return n;
  };
  const concurrency = num('concurrency', values.concurrency, 1, 256);
  const timeout = num('timeout', values.timeout, 1, 86_400);
  const ollamaHost = process.env.OLLAMA_HOST;
  const killAfter = process.env.SWITCHYARD_ONBOARD_KILL_AFTER as StepName | undefined;
  if (killAfter !== undefined && !STEPS.includes(killAfter)) throw new CliError(`SWITCHYARD_ONBOARD_KILL_AFTER must be one of ${STEPS.join(', ')}`, 2);
  const join = values.join ?? process.env.SWITCHYARD_JOIN_TOKEN;
  await onboard({
    home: defaultHome(values.data),
    ...(values.hub ? { hub: values.hub } : {}),
    ...(join ? { join } : {}),
    repos: (values.repo ?? []).map(parseRepo),
    ...(values.name ? { name: values.name } : {}),
    ...(values.capabilities ? { capabilities: values.capabilities.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
    ...(concurrency ? { concurrency } : {}),
    ollamaUrl: values['ollama-url'] ?? (ollamaHost ? (ollamaHost.startsWith('http') ? ollamaHost : `http://${ollamaHost}`) : 'http://127.0.0.1:11434'),
    claudeBinary: values['claude-bin'] ?? 'claude',
    ...(values.redetect ? { redetect: true } : {}),
    ...(timeout ? { verifyTimeoutMs: timeout * 1000 } : {}),
    ...(killAfter ? { killAfter } : {}),
    out: (text) => process.stdout.write(text),
  });
}
