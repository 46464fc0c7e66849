/** `switchyard repo add | list | show | pause | resume | move | remove`: the hub's repo registry (docs/repos.md). */
import { parseArgs } from 'node:util';
import { CliError, HubClient } from '../client.js';
import { table, time } from '../format.js';
import type { Repo, RepoAddBody, RepoList } from '../../shared/repos.js';

export const REPO_HELP = `Usage: switchyard repo <command> [options]

Commands:
  add NAME --url URL            Register a repo (active). Options: --branch B (default main),
                                --test-command CMD, --priority N (default 0; higher is served first)
  list                          Every repo, the highest priority first
  show NAME                     One repo
  pause NAME [--reason TEXT]    Its queued tasks wait (they do not fail) until it is resumed
  resume NAME                   Serve its tasks again
  move NAME --priority N        Set its priority (within a lane; old tasks are still served first)
  remove NAME                   Remove it from the registry (its tasks keep their repo)
  Sidecars take each repo's url, branch and test command from here (their own config wins).

Options:
  --hub URL    Hub URL (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T    Operator or admin token (default $SWITCHYARD_ADMIN_TOKEN or .switchyard/hub/admin.token)
  --json       Print JSON
  -h, --help   This help (also after a command: switchyard repo add --help)
`;

function priorityOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || Math.abs(n) > 1_000_000) throw new CliError(`--priority must be a whole number from -1000000 to 1000000, not '${raw}'`, 2);
  return n;
}

const line = (r: Repo) => `${r.name}: ${r.status}${r.paused_reason ? ` (${r.paused_reason})` : ''}, priority ${r.priority}, ${r.url} @ ${r.default_branch}${r.test_command ? `, tests: ${r.test_command}` : ''}\n`;

export async function repoCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      hub: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
      url: { type: 'string' },
      branch: { type: 'string' },
      'test-command': { type: 'string' },
      priority: { type: 'string' },
      reason: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [sub, name] = positionals;
  if (values.help || sub === undefined || sub === 'help') {
    process.stdout.write(REPO_HELP);
    return;
  }
  const client = new HubClient(values);
  const print = (body: unknown, text: string) => process.stdout.write(values.json ? `${JSON.stringify(body, null, 2)}\n` : text);
  if (sub === 'list') {
    const { body } = await client.request<RepoList>('GET', '/v1/repos');
    const rows = body.repos.map((r) => [r.name, String(r.priority), r.status, r.default_branch, r.url, r.test_command ?? '', time(r.updated_at)]);
    print(body, body.repos.length ? `${table([['NAME', 'PRIORITY', 'STATUS', 'BRANCH', 'URL', 'TEST COMMAND', 'CHANGED'], ...rows])}\n` : 'no repos registered (switchyard repo add NAME --url URL)\n');
    return;
  }
  if (!['add', 'show', 'pause', 'resume', 'move', 'remove'].includes(sub)) throw new CliError(`unknown command 'repo ${sub}' (see switchyard repo --help)`, 2);
  if (!name) throw new CliError(`switchyard repo ${sub} needs a NAME`, 2);
  const path = `/v1/repos/${encodeURIComponent(name)}`;
  if (sub === 'add') {
    if (!values.url) throw new CliError('switchyard repo add needs --url URL', 2);
    const priority = priorityOf(values.priority);
    const body: RepoAddBody = {
      name,
      url: values.url,
      ...(values.branch ? { default_branch: values.branch } : {}),
      ...(values['test-command'] ? { test_command: values['test-command'] } : {}),
      ...(priority !== undefined ? { priority } : {}),
    };
    const { body: r } = await client.request<Repo>('POST', '/v1/repos', body);
    print(r, `added ${line(r)}`);
    return;
  }
  if (sub === 'show') {
    const { body: r } = await client.request<Repo>('GET', path);
    print(r, `${line(r)}added ${time(r.created_at)}, changed ${time(r.updated_at)}\n`);
    return;
  }
  if (sub === 'pause' || sub === 'resume') {
    const { body: r } = await client.request<Repo>('POST', `${path}/${sub}`, sub === 'pause' && values.reason ? { reason: values.reason } : undefined);
    print(r, `${sub === 'pause' ? 'paused (its queued tasks wait)' : 'resumed'}: ${line(r)}`);
    return;
  }
  if (sub === 'move') {
    const priority = priorityOf(values.priority);
    if (priority === undefined) throw new CliError('switchyard repo move needs --priority N', 2);
    const { body: r } = await client.request<Repo>('POST', `${path}/move`, { priority });
    print(r, `moved: ${line(r)}`);
    return;
  }
  await client.request('DELETE', path);
  print({ name, removed: true }, `removed ${name} from the registry\n`);
}
