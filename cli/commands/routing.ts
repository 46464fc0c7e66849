/** `switchyard routing [set FILE|reset]`: the routing policy in force (docs/routing.md). */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CliError, HubClient } from '../client.js';
import { table } from '../format.js';
import type { RoutingPolicyView } from '../../shared/routing.js';

export const ROUTING_HELP = `Usage: switchyard routing [command] [options]

Commands:
  (none)        The routing policy in force: each complexity tier's candidates, in order,
                how long each waits for a free agent, and the tier that follows
  set FILE      Set the policy from a JSON file (admin); it persists and applies to tasks
                created from then on. See docs/routing.md for the format.
  reset         Forget the policy set here: SWITCHYARD_ROUTING_POLICY's file, or the default

Options:
  --hub URL    Hub URL (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T    Token (default $SWITCHYARD_ADMIN_TOKEN or .switchyard/hub/admin.token)
  --json       Print JSON
`;

export function formatPolicy(view: RoutingPolicyView): string {
  const p = view.policy;
  const head = `routing ${p.enabled === false ? 'OFF' : 'on'} (policy from ${view.source}); a cold model may fill ${Math.round((p.vram_headroom ?? 0.9) * 100)} % of free VRAM`;
  const rows = (Object.keys(p.tiers) as Array<keyof typeof p.tiers>).map((tier) => {
    const t = p.tiers[tier];
    return [tier, t.candidates.join(' → '), `${Math.round((t.wait_ms ?? 0) / 1000)} s`, t.next ?? '-'];
  });
  return `${head}\n${table([['TIER', 'CANDIDATES', 'WAIT', 'THEN'], ...rows])}\n`;
}

export async function routingCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { hub: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals[0] === 'help') {
    process.stdout.write(ROUTING_HELP);
    return;
  }
  const client = new HubClient(values);
  const [sub, file] = positionals;
  const print = (body: RoutingPolicyView) => process.stdout.write(values.json ? `${JSON.stringify(body, null, 2)}\n` : formatPolicy(body));
  if (sub === undefined) {
    print((await client.request<RoutingPolicyView>('GET', '/v1/routing/policy')).body);
    return;
  }
  if (sub === 'set') {
    if (!file) throw new CliError('switchyard routing set needs a FILE with the policy as JSON (see docs/routing.md)', 2);
    let policy: unknown;
    try {
      policy = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new CliError(`cannot read ${file} as JSON: ${(err as Error).message}`, 2);
    }
    print((await client.request<RoutingPolicyView>('PUT', '/v1/routing/policy', policy)).body);
    return;
  }
  if (sub === 'reset') {
    print((await client.request<RoutingPolicyView>('DELETE', '/v1/routing/policy')).body);
    return;
  }
  throw new CliError(`unknown command 'routing ${sub}' (see switchyard routing --help)`, 2);
}
