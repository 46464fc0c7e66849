/** `switchyard limits [set|clear]`: the hub's rate limits and per-subject overrides (docs/security.md). */
import { parseArgs } from 'node:util';
import { CliError, HubClient } from '../client.js';
import { table, time } from '../format.js';
import type { LimitOverride, LimitsView } from '../../shared/limits.js';

export const LIMITS_HELP = `Usage: switchyard limits [command] [options]

Commands:
  (none)                        The limits in force and the overrides
  set SUBJECT --factor F        Multiply SUBJECT's limits by F (10 raises tenfold, 0.5 halves)
  set SUBJECT --exempt          Take SUBJECT out of rate limiting
  clear SUBJECT                 Remove SUBJECT's override: the defaults apply again
  SUBJECT is admin, token:<id> (switchyard token list), agent:<id> or address:<ip>.
  Overrides take effect at once and are kept across restarts.

Options:
  --note TEXT  Why (kept with the override)
  --hub URL    Hub URL (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T    Admin token (default $SWITCHYARD_ADMIN_TOKEN or .switchyard/hub/admin.token)
  --json       Print JSON
`;

export async function limitsCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { hub: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, factor: { type: 'string' }, exempt: { type: 'boolean' }, note: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals[0] === 'help') {
    process.stdout.write(LIMITS_HELP);
    return;
  }
  const client = new HubClient(values);
  const [sub, subject] = positionals;
  const print = (body: unknown, text: string) => process.stdout.write(values.json ? `${JSON.stringify(body, null, 2)}\n` : text);
  if (sub === undefined) {
    const { body } = await client.request<LimitsView>('GET', '/v1/limits');
    const p = body.per_minute;
    const lines = [
      `rate limits ${body.enabled ? 'on' : 'OFF (SWITCHYARD_RATE_LIMITS=false)'}; per minute, per caller and per address:`,
      `  light ${p.light}   normal ${p.normal}   heavy ${p.heavy}   auth failures ${p.auth_failures} (per address)   new connections ${p.connects} (per address)`,
      `  agent socket: ${body.ws_per_second} messages per second; a client that keeps going waits twice as long each time, up to ${Math.round(body.penalty_max_ms / 1000)} s`,
      body.overrides.length ? table([['SUBJECT', 'OVERRIDE', 'SET BY', 'AT', 'NOTE'], ...body.overrides.map((o) => [o.subject, o.exempt ? 'exempt' : `x${o.factor}`, o.set_by, time(o.set_at), o.note])]) : 'no overrides',
    ];
    print(body, `${lines.join('\n')}\n`);
    return;
  }
  if (!subject) throw new CliError(`switchyard limits ${sub} needs a SUBJECT (admin, token:<id>, agent:<id>, address:<ip>)`, 2);
  if (sub === 'set') {
    const body: { factor?: number; exempt?: boolean; note?: string } = {};
    if (values.exempt) body.exempt = true;
    if (values.factor !== undefined) {
      const f = Number(values.factor);
      if (!Number.isFinite(f) || f < 0.01 || f > 1000) throw new CliError(`--factor must be a number from 0.01 to 1000, not '${values.factor}'`, 2);
      body.factor = f;
    }
    if (body.exempt === undefined && body.factor === undefined) throw new CliError('switchyard limits set needs --factor F or --exempt', 2);
    if (values.note) body.note = values.note;
    const { body: o } = await client.request<LimitOverride>('PUT', `/v1/limits/overrides/${encodeURIComponent(subject)}`, body);
    print(o, `${o.subject}: ${o.exempt ? 'exempt from rate limits' : `limits x${o.factor}`}\n`);
    return;
  }
  if (sub === 'clear') {
    const { body } = await client.request<{ subject: string; cleared: boolean }>('DELETE', `/v1/limits/overrides/${encodeURIComponent(subject)}`);
    print(body, body.cleared ? `${subject}: override removed; the defaults apply\n` : `${subject} had no override\n`);
    return;
  }
  throw new CliError(`unknown command 'limits ${sub}' (see switchyard limits --help)`, 2);
}
