/** `switchyard agent add|list|show|set|recheck|remove` */
import { parseArgs } from 'node:util';
import { CliError, HubClient } from '../client.js';
import { table, time } from '../format.js';
import type { Agent } from '../../shared/rest.js';

export const AGENT_HELP = `Usage: switchyard agent <command> [options]

Commands:
  add ID [--description D]  Register an agent; prints its token ONCE (give it to the sidecar)
  list                      Registered agents with their live state
  show ID                   One agent: state, executors (and why one is unavailable), models, resources
  set ID [--priority N] [--description D]
                            Change an agent: its priority (-100..100, default 0) ranks it among
                            equally loaded agents, higher first, for new and fallback placements
  recheck ID                Ask the agent's sidecar to recheck its executors now (after a login, a pull)
  remove ID                 Remove an agent; its token stops working, its tasks are reclaimed
  invite [--name N] [--ttl 1h] [--capabilities LIST]
                            A one-time join token and the command that onboards a new host
  invites                   Join tokens: pending, used, expired, revoked
  revoke ID                 Revoke a join token

Options:
  --hub URL    Hub URL (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T    Admin token (default $SWITCHYARD_ADMIN_TOKEN or .switchyard/hub/admin.token)
  --json       Print JSON
`;

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;

/** An agent as the REST API answers it (shared/rest.ts). */
type AgentView = Agent;

/** The agent as a person reads it: executors first, with why one cannot run. */
export function formatAgent(a: AgentView): string {
  const lines = [`${a.id}  ${a.state}${a.description ? `  (${a.description})` : ''}`];
  lines.push(`  last seen ${time(a.last_seen_at)}, connected ${time(a.connected_at)}${a.priority ? `, priority ${a.priority}` : ''}`);
  if (a.completed_today !== undefined) lines.push(`  ${a.tasks.length} active, ${a.completed_today} completed today${a.idle_since ? `, idle since ${time(a.idle_since)}` : ''}`);
  if (a.capabilities?.length) lines.push(`  capabilities: ${a.capabilities.join(', ')}`);
  if (a.repos) lines.push(`  repos: ${a.repos.join(', ') || '(none)'}`);
  lines.push('  executors:');
  for (const e of a.executors ?? []) {
    if (e.available) {
      lines.push(`    ${e.name.padEnd(7)} available${e.models.length ? `  models: ${e.models.join(', ')}` : ''}${e.reason ? `  (${e.reason})` : ''}`);
    } else {
      const until = e.until ? `, until ${time(e.until)}` : '';
      lines.push(`    ${e.name.padEnd(7)} UNAVAILABLE since ${time(e.since)}${until}: ${e.reason ?? 'no reason given'}`);
    }
    for (const m of e.model_faults ?? []) lines.push(`      model ${m.name} unavailable since ${time(m.since)}: ${m.reason}`);
    for (const m of e.model_info ?? []) {
      const what = [m.family, m.parameter_size, m.quantization, m.size_bytes !== undefined ? gb(m.size_bytes) : undefined].filter(Boolean).join(', ');
      const warm = m.loaded ? `warm: ${gb(m.vram_bytes ?? 0)} VRAM${m.expires_at ? `, until ${time(m.expires_at)}` : ''}` : 'cold';
      lines.push(`      ${m.name}${what ? `  (${what})` : ''}  ${warm}`);
    }
  }
  if ((a.executors ?? []).length === 0) lines.push('    (none: offline, or it advertised none)');
  const r = a.resources;
  if (r) {
    lines.push(`  host: ${r.cpu_count} CPUs, RAM ${r.ram_free_mb} of ${r.ram_total_mb} MB free`);
    for (const g of r.gpus) lines.push(`  gpu ${g.index}: ${g.name}, VRAM ${g.vram_used_mb}/${g.vram_total_mb} MB used`);
    if (r.gpus.length === 0 && r.gpu_note) lines.push(`  gpus: none (${r.gpu_note})`);
  }
  lines.push(`  tasks: ${a.tasks.length ? a.tasks.map((t) => `${t.task_id} (${t.status})`).join(', ') : 'none'}`);
  return `${lines.join('\n')}\n`;
}

export async function agentCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(AGENT_HELP);
    return;
  }
  if (sub === 'invite' || sub === 'invites' || sub === 'revoke') return (await import('./agent-invite.js')).inviteCommand(sub, rest);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { hub: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, description: { type: 'string' }, priority: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
      else process.stdout.write(`registered ${body.agent.id}\ntoken (shown once): ${body.token}\nstart its sidecar: put the token in a 0600 file, then switchyard sidecar --hub ${client.base} --agent ${body.agent.id} --token-file FILE\n`);
      return;
    }
    case 'list': {
      const { body } = await client.request<{ agents: AgentView[] }>('GET', '/v1/agents');
      if (values.json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      else process.stdout.write(`${body.agents.length ? table([['ID', 'STATE', 'TASKS', 'LAST SEEN', 'DESCRIPTION'], ...body.agents.map((a) => [a.id, a.state, String(a.tasks.length), time(a.last_seen_at), a.description])]) : 'no agents'}\n`);
      return;
    }
    case 'show': {
      if (!id) throw new CliError('switchyard agent show needs an agent ID', 2);
      const { body } = await client.request<AgentView>('GET', `/v1/agents/${encodeURIComponent(id)}`);
      process.stdout.write(values.json ? `${JSON.stringify(body, null, 2)}\n` : formatAgent(body));
      return;
    }
    case 'set': {
      if (!id) throw new CliError('switchyard agent set needs an agent ID', 2);
      const patch: { priority?: number; description?: string } = {};
      if (values.priority !== undefined) {
        const n = Number(values.priority);
        if (!Number.isInteger(n) || n < -100 || n > 100) throw new CliError(`--priority must be a whole number from -100 to 100, not '${values.priority}'`, 2);
        patch.priority = n;
      }
      if (values.description !== undefined) patch.description = values.description;
      if (Object.keys(patch).length === 0) throw new CliError('switchyard agent set needs --priority N or --description D', 2);
      const { body } = await client.request<AgentView>('PATCH', `/v1/agents/${encodeURIComponent(id)}`, patch);
      process.stdout.write(values.json ? `${JSON.stringify(body, null, 2)}\n` : `${body.id}: priority ${body.priority}${body.description ? `, ${body.description}` : ''}\n`);
      return;
    }
    case 'recheck': {
      if (!id) throw new CliError('switchyard agent recheck needs an agent ID', 2);
      await client.request('POST', `/v1/agents/${encodeURIComponent(id)}/recheck`);
      process.stdout.write(`asked ${id} to recheck its executors; see switchyard agent show ${id}\n`);
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
