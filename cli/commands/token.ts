/** `switchyard token add|list|revoke|rotate-admin`: API tokens with a role (docs/security.md). */
import { parseArgs } from 'node:util';
import { CliError, HubClient } from '../client.js';
import { table, time } from '../format.js';
import { TOKEN_KINDS, type TokenKind, type TokenView } from '../../shared/tokens.js';
import { parseTtl } from './agent-invite.js';

export const TOKEN_HELP = `Usage: switchyard token <command> [options]

Commands:
  add NAME --role ROLE [--ttl 30d]
                  A token for a person or a tool; prints it ONCE. Roles:
                    admin     everything
                    operator  create, cancel, retry, approve/reject, answer, acknowledge alerts
                    viewer    read, and follow the live feed (the dashboard)
                    metrics   only GET /v1/metrics (a Prometheus scraper)
                  --ttl: it stops working after 90s, 30m, 12h, 30d… (default: never)
  list            Tokens: id, name, role, status, created by, expiry, last use
  revoke ID       The token stops working now; feeds it opened are closed
  rotate-admin    A new admin token now; the old one stops working at once (written to the
                  hub's admin.token when it has one; else keep the printed token)

Options:
  --hub URL    Hub URL (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T    Admin token (default $SWITCHYARD_ADMIN_TOKEN or .switchyard/hub/admin.token)
  --json       Print JSON
`;

export async function tokenCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(TOKEN_HELP);
    return;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { hub: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, role: { type: 'string' }, ttl: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(TOKEN_HELP);
    return;
  }
  const client = new HubClient(values);
  const print = (body: unknown, text: string) => process.stdout.write(values.json ? `${JSON.stringify(body, null, 2)}\n` : text);
  switch (sub) {
    case 'add': {
      const name = positionals[0];
      if (!name) throw new CliError('switchyard token add needs a NAME (who or what holds the token)', 2);
      if (!values.role || !(TOKEN_KINDS as readonly string[]).includes(values.role)) throw new CliError(`switchyard token add needs --role ${TOKEN_KINDS.join('|')}`, 2);
      const body: { name: string; kind: TokenKind; expires_in_ms?: number } = { name, kind: values.role as TokenKind };
      if (values.ttl) body.expires_in_ms = parseTtl(values.ttl);
      const { body: made } = await client.request<{ token: string; record: TokenView }>('POST', '/v1/tokens', body);
      const r = made.record;
      print(made, `added ${r.name} (${r.kind}, id ${r.id}${r.expires_at ? `, expires ${time(r.expires_at)}` : ''})\ntoken (shown once): ${made.token}\n`);
      return;
    }
    case 'list': {
      const { body } = await client.request<{ tokens: TokenView[] }>('GET', '/v1/tokens');
      const rows = body.tokens.map((t) => [t.id, t.name, t.kind, t.status, t.created_by, t.expires_at ? time(t.expires_at) : 'never', time(t.last_used_at)]);
      print(body, `${rows.length ? table([['ID', 'NAME', 'ROLE', 'STATUS', 'CREATED BY', 'EXPIRES', 'LAST USED'], ...rows]) : 'no API tokens (the admin token is not listed)'}\n`);
      return;
    }
    case 'revoke': {
      const id = positionals[0];
      if (!id) throw new CliError('switchyard token revoke needs a token ID (see switchyard token list)', 2);
      const { body } = await client.request<TokenView>('DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
      print(body, `revoked ${body.id} (${body.name}, ${body.kind})\n`);
      return;
    }
    case 'rotate-admin': {
      const { body } = await client.request<{ token: string; written_to: string | null }>('POST', '/v1/tokens/rotate-admin');
      print(body, `new admin token (shown once): ${body.token}\n${body.written_to ? `written to ${body.written_to}; ` : 'the hub took its admin token from its environment: the hub keeps this rotation across restarts (update SWITCHYARD_ADMIN_TOKEN to it when you can); '}the old token no longer works\n`);
      return;
    }
    default:
      throw new CliError(`unknown command 'token ${sub}' (see switchyard token --help)`, 2);
  }
}
