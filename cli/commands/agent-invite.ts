/** `switchyard agent invite | invites | revoke` — one-time join tokens for new agent hosts. */
import { parseArgs } from 'node:util';
import { CliError, HubClient } from '../client.js';
import { table, time } from '../format.js';

export const INVITE_HELP = `Usage: switchyard agent invite [--name N] [--capabilities LIST] [--ttl 1h] [--description D]
       switchyard agent invites
       switchyard agent revoke ID

invite   Creates a one-time join token (stored hashed at the hub, single use, expires) and prints
         the command to run on the new host: switchyard onboard --hub URL --join TOKEN
invites  Lists join tokens: pending, used (by which agent), expired, revoked
revoke   Revokes a join token by its ID (from invites), so it can no longer be used

Options:
  --name N             The new agent's name (default: the host picks a free Culture ship name)
  --capabilities LIST  Capabilities the host offers (comma-separated; gpu is added when it has one)
  --ttl T              How long the token can be used: 90s, 30m, 1h, 7d (default 1h, at most 30d)
  --description D      A note kept with the agent
  --public-url URL     The hub URL the new host should use (default --hub; use it when --hub is
                       127.0.0.1 but the host reaches the hub at another address)
  --hub URL            Hub URL (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T            Admin token (default $SWITCHYARD_ADMIN_TOKEN or .switchyard/hub/admin.token)
  --json               Print JSON
`;

/** `90s`, `30m`, `1h`, `7d` (or plain seconds) in ms. */
export function parseTtl(text: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new CliError(`--ttl '${text}' is not a duration: use 90s, 30m, 1h or 7d`, 2);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

interface JoinView {
  id: string;
  status: string;
  name: string | null;
  capabilities: string[];
  expires_at: number;
  agent_id: string | null;
  created_at: number;
}

export async function inviteCommand(sub: string, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      capabilities: { type: 'string' },
      ttl: { type: 'string' },
      description: { type: 'string' },
      'public-url': { type: 'string' },
      hub: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(INVITE_HELP);
    return;
  }
  const client = new HubClient(values);
  if (sub === 'invites') {
    const { body } = await client.request<{ joins: JoinView[] }>('GET', '/v1/join-tokens');
    if (values.json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    else if (body.joins.length === 0) process.stdout.write('no join tokens\n');
    else {
      const rows = body.joins.map((j) => [j.id, j.status, j.name ?? '(any)', j.agent_id ?? '-', time(j.expires_at), j.capabilities.join(',') || '-']);
      process.stdout.write(`${table([['ID', 'STATUS', 'NAME', 'AGENT', 'EXPIRES', 'CAPABILITIES'], ...rows])}\n`);
    }
    return;
  }
  if (sub === 'revoke') {
    const id = positionals[0];
    if (!id) throw new CliError('switchyard agent revoke needs a join token ID (see switchyard agent invites)', 2);
    await client.request('DELETE', `/v1/join-tokens/${encodeURIComponent(id)}`);
    process.stdout.write(`revoked join token ${id}; it can no longer be used\n`);
    return;
  }
  const body: Record<string, unknown> = {};
  if (values.name) body.name = values.name;
  if (values.capabilities) body.capabilities = values.capabilities.split(',').map((s) => s.trim()).filter(Boolean);
  if (values.ttl) body.ttl_ms = parseTtl(values.ttl);
  if (values.description) body.description = values.description;
  const { body: res } = await client.request<{ join: JoinView; token: string }>('POST', '/v1/join-tokens', body);
  const hubUrl = (values['public-url'] ?? client.base).replace(/\/$/, '');
  const command = `npx switchyard onboard --hub ${hubUrl} --join ${res.token}`;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...res, command }, null, 2)}\n`);
    return;
  }
  const loopback = /^https?:\/\/(127\.|localhost|\[::1\])/.test(hubUrl);
  process.stdout.write(
    `join token ${res.join.id} for ${res.join.name ?? 'an agent named by the host'}: single use, expires ${time(res.join.expires_at)} UTC` +
      `${res.join.capabilities.length ? `, capabilities ${res.join.capabilities.join(', ')}` : ''}\n\n` +
      `On the new host (Node.js 20.19+, git), run:\n\n  ${command} [--repo name=url …]\n\n` +
      (loopback ? `! ${hubUrl} is this machine's loopback address: another host needs the hub's own address (pass --public-url http://HUB:7070, and run the hub with SWITCHYARD_HOST=0.0.0.0)\n` : '') +
      `The token is shown once. Revoke it with: switchyard agent revoke ${res.join.id}\n`,
  );
}
