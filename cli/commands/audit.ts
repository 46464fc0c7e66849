/** `switchyard audit`: who changed what (docs/security.md, "Audit"). */
import { parseArgs } from 'node:util';
import { CliError, HubClient } from '../client.js';
import { table, time } from '../format.js';
import type { AuditPage } from '../../shared/audit.js';
import { parseTtl } from './agent-invite.js';

export const AUDIT_HELP = `Usage: switchyard audit [options]

Who changed what, oldest first: task changes and the hub's other changes (agents, tokens,
limits, join tokens, backups, acknowledgements), each with its actor and the actor's kind.

Options:
  --actor A      An actor (admin, token:ci, slack:alice, agent:gpu-1), or a prefix ending in ':' (token:)
  --action X     An action (task.cancelled, token.revoked), or a prefix ending in '.' (task., token.)
  --since T      From T ago (90s, 30m, 12h, 7d) or an ISO time (default: 24h)
  --until T      Up to T ago, or an ISO time (default: now)
  --hub-actors   Include the hub's own processes (sweeper, scheduler, ...)
  --limit N      At most N entries (default 100)
  --hub URL      Hub URL (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T      Admin or operator token (default $SWITCHYARD_ADMIN_TOKEN or .switchyard/hub/admin.token)
  --json         Print JSON
`;

function when(text: string, now: number): number {
  if (/^\d+\s*[smhd]?$/.test(text.trim())) return now - parseTtl(text);
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new CliError(`'${text}' is neither a duration (30m, 12h, 7d) nor an ISO time`, 2);
  return t;
}

export async function auditCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      hub: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
      actor: { type: 'string' },
      action: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      'hub-actors': { type: 'boolean' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(AUDIT_HELP);
    return;
  }
  const now = Date.now();
  const q = new URLSearchParams();
  if (values.actor) q.set('actor', values.actor);
  if (values.action) q.set('action', values.action);
  q.set('since', String(when(values.since ?? '24h', now)));
  if (values.until) q.set('until', String(when(values.until, now)));
  if (values['hub-actors']) q.set('hub', 'true');
  if (values.limit) q.set('limit', values.limit);
  const { body } = await new HubClient(values).request<AuditPage>('GET', `/v1/audit?${q}`);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return;
  }
  const rows = body.entries.map((e) => [time(e.at), `${e.actor} (${e.actor_kind})`, e.action, e.subject, e.detail.slice(0, 80)]);
  process.stdout.write(`${rows.length ? table([['AT', 'ACTOR', 'ACTION', 'SUBJECT', 'DETAIL'], ...rows]) : 'nothing in that range'}\n`);
  if (body.next_since !== null) process.stdout.write(`more: --since ${new Date(body.next_since).toISOString()}${body.truncated ? ' (the scan stopped at its bound: narrow the range)' : ''}\n`);
}
