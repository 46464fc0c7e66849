/** `switchyard alerts [--all] [ack ID]`: what the hub alerts about, and acknowledging it. */
import { parseArgs } from 'node:util';
import type { Alert } from '../../shared/alerts.js';
import { CliError, HubClient } from '../client.js';
import { table, time } from '../format.js';

export const ALERTS_HELP = `Usage: switchyard alerts [options]
       switchyard alerts ack ID [options]

Lists the hub's alerts (active ones by default), or acknowledges one: a critical alert repeats
(log, push, dashboard) until acknowledged; an acknowledged one stays listed until it clears.
The rules and their settings: docs/alerts.md.

Options:
  --all            Every alert: active, acknowledged, then the history of cleared ones
  --state S        active | acknowledged | cleared | all (default active)
  --limit N        At most N alerts (default 100)
  --hub URL        Hub URL (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T        Admin token (default $SWITCHYARD_ADMIN_TOKEN or .switchyard/hub/admin.token)
  --json           Print JSON instead of text
  -h, --help       This help
`;

export async function alertsCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      all: { type: 'boolean' },
      state: { type: 'string' },
      limit: { type: 'string' },
      hub: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals[0] === 'help') {
    process.stdout.write(ALERTS_HELP);
    return;
  }
  const client = new HubClient(values);
  const out = (value: unknown, text: () => string) => process.stdout.write(`${values.json ? JSON.stringify(value, null, 2) : text()}\n`);
  const [sub, id] = positionals;
  if (sub === 'ack') {
    if (!id) throw new CliError('switchyard alerts ack needs an alert ID (the first column of switchyard alerts)', 2);
    const { body } = await client.request<{ alert: Alert }>('POST', `/v1/alerts/${encodeURIComponent(id)}/ack`);
    out(body.alert, () => `acknowledged ${body.alert.id} (${body.alert.state}${body.alert.acked_by ? ` by ${body.alert.acked_by}` : ''})`);
    return;
  }
  if (sub !== undefined) throw new CliError(`unknown alerts command '${sub}' (see switchyard alerts --help)`, 2);
  const state = values.all ? 'all' : (values.state ?? 'active');
  const q = new URLSearchParams({ state });
  if (values.limit) q.set('limit', values.limit);
  const { body } = await client.request<{ alerts: Alert[] }>('GET', `/v1/alerts?${q}`);
  out(body.alerts, () => {
    if (body.alerts.length === 0) return state === 'active' ? 'no active alerts' : 'no alerts';
    const rows = body.alerts.map((a) => [a.id, a.severity, a.state, String(a.count), time(a.last_fired_at), a.message]);
    return table([['ID', 'SEVERITY', 'STATE', 'COUNT', 'LAST FIRED', 'MESSAGE'], ...rows]);
  });
}
