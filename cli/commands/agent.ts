/** `switchyard agent add|list|remove` */
import { parseArgs } from 'node:util';
import { CliError, HubClient } from '../client.js';
import { table, time } from '../format.js';

export const AGENT_HELP = `Usage: switchyard agent <command> [options]

Commands:
  add ID [--description D]  Register an agent; prints its token ONCE (give it to the sidecar)
  list                      Registered agents with their live state
  remove ID                 Remove an agent; its token stops working, its tasks are reclaimed

Options:
  --hub URL    Hub URL (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T    Admin token (default $SWITCHYARD_ADMIN_TOKEN or .switchyard/hub/admin.token)
  --json       Print JSON
`;

interface AgentView {
  id: string;
  state: string;
  description: string;
  tasks: unknown[];
  created_at: number;
  last_seen_at?: number | null;
}

export async function agentCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(AGENT_HELP);
    return;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { hub: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, description: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(AGENT_HELP);
    return;
  }
  const client = new HubClient(values);
  const id = positionals[0];
  switch (sub) {
    case 'add': {
      if (!id) throw new CliError('switchyard agent add needs an agent ID', 2);
      const { body } = await client.request<{ agent: AgentView; token: string }>('POST', '/v1/agents', { id, ...(values.description ? { description: values.description } : {}) });
      if (values.json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      else process.stdout.write(`registered ${body.agent.id}\ntoken (shown once): ${body.token}\nstart its sidecar: SWITCHYARD_TOKEN=<token> switchyard sidecar --hub ${client.base} --agent ${body.agent.id}\n`);
      return;
    }
    case 'list': {
      const { body } = await client.request<{ agents: AgentView[] }>('GET', '/v1/agents');
      if (values.json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      else process.stdout.write(`${body.agents.length ? table([['ID', 'STATE', 'TASKS', 'LAST SEEN', 'DESCRIPTION'], ...body.agents.map((a) => [a.id, a.state, String(a.tasks.length), time(a.last_seen_at), a.description])]) : 'no agents'}\n`);
      return;
    }
    case 'remove': {
      if (!id) throw new CliError('switchyard agent remove needs an agent ID', 2);
      await client.request('DELETE', `/v1/agents/${encodeURIComponent(id)}`);
      process.stdout.write(`removed ${id}\n`);
      return;
    }
    default:
      throw new CliError(`unknown command 'agent ${sub}' (see switchyard agent --help)`, 2);
  }
}
