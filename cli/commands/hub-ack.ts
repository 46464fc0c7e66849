/**
 * `switchyard hub ack` — an operator's acknowledgement of a degraded state that waits for one
 * (a start that recovered a store short of acknowledged writes): POST /v1/health/ack.
 */
import { parseArgs } from 'node:util';
import { loadHubConfig } from '../../hub/config.js';
import type { Health } from '../../shared/rest.js';
import { HubClient } from '../client.js';

export const HUB_ACK_HELP = `Usage: switchyard hub ack [--hub URL] [--token T] [--data DIR]

Acknowledges a degraded state that waits for an operator (GET /v1/health says "needs_ack": a
store recovered at start lacks changes the hub had acknowledged). Look first: GET /v1/health's
"recovery" says what was lost and since when. Writes resume once acknowledged. A full disk needs
no acknowledgement: the hub leaves degraded mode by itself once writes succeed again.

Options:
  --hub URL     The hub (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T     Admin token (default $SWITCHYARD_ADMIN_TOKEN, else DIR/admin.token)
  --data DIR    The hub's data folder, for its admin.token (default $SWITCHYARD_DATA or ./.switchyard/hub)
  -h, --help    Show this help
`;

export async function hubAckCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { hub: { type: 'string' }, token: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HUB_ACK_HELP);
    return;
  }
  const config = loadHubConfig(values.data ? { dataDir: values.data } : {});
  const client = new HubClient({ ...(values.hub ? { hub: values.hub } : {}), ...(values.token ? { token: values.token } : {}), data: config.dataDir });
  const { body } = await client.request<{ acknowledged: boolean; health: Health }>('POST', '/v1/health/ack');
  const h = body.health;
  if (body.acknowledged) process.stdout.write(`acknowledged: the hub is ${h.status}${h.degraded ? ` (${h.degraded.reason}: ${h.degraded.message})` : ''}\n`);
  else process.stdout.write(`nothing to acknowledge: the hub is ${h.status}${h.degraded ? ` (${h.degraded.reason}; it ends by itself once writes succeed)` : ''}\n`);
}
