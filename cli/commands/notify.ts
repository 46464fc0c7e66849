/** `switchyard notify test | list | remove` — the hub's push notifications to operators' browsers. */
import { parseArgs } from 'node:util';
import type { PushSubscriptionView, PushTestResult } from '../../shared/push.js';
import { CliError, HubClient } from '../client.js';
import { table, time } from '../format.js';

export const NOTIFY_HELP = `Usage: switchyard notify <command> [options]

Commands:
  test        Send a test notification to every subscribed browser and wait for the outcome
              (retries included); exits 1 when none was delivered
  list        Subscribed browsers: id, push service, alert kinds, last sent, failures
  remove ID   Unsubscribe a browser (from list)

Browsers subscribe from the dashboard (Alerts, Notifications). docs/push.md.

Options:
  --hub URL    Hub URL (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T    Admin token (default $SWITCHYARD_ADMIN_TOKEN or .switchyard/hub/admin.token)
  --json       Print JSON
  -h, --help   Show this help
`;

export async function notifyCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(NOTIFY_HELP);
    return;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { hub: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(NOTIFY_HELP);
    return;
  }
  const client = new HubClient(values);
  const print = (body: unknown) => process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  switch (sub) {
    case 'test': {
      const { body } = await client.request<PushTestResult>('POST', '/v1/push/test');
      if (values.json) print(body);
      else {
        const total = body.sent + body.failed + body.pruned;
        if (total === 0) process.stdout.write('no browser is subscribed: open the dashboard, Alerts, Notifications, and subscribe first\n');
        else process.stdout.write(`test notification: ${body.sent} delivered, ${body.failed} failed, ${body.pruned} removed (their push service said they are gone)\n`);
      }
      if (body.sent === 0) throw new CliError(body.failed > 0 ? 'no push service took the test notification: see the hub log (module push) for the answers' : 'nothing was delivered', 1);
      return;
    }
    case 'list': {
      const { body } = await client.request<{ subscriptions: PushSubscriptionView[]; stats: Record<string, number> }>('GET', '/v1/push/subscriptions');
      if (values.json) {
        print(body);
        return;
      }
      if (body.subscriptions.length === 0) process.stdout.write('no browser is subscribed\n');
      else {
        const rows = [['ID', 'PUSH SERVICE', 'KINDS', 'LAST SENT', 'FAILURES', 'LABEL']];
        for (const s of body.subscriptions) rows.push([s.id, s.endpoint_origin, s.kinds.length ? s.kinds.join(',') : 'all', time(s.last_sent_at), String(s.failures), s.label]);
        process.stdout.write(`${table(rows)}\n`);
      }
      const st = body.stats;
      process.stdout.write(`since the hub started: ${st.sent} sent, ${st.failed} failed, ${st.retried} retried, ${st.pruned} pruned\n`);
      return;
    }
    case 'remove': {
      const id = positionals[0];
      if (!id) throw new CliError('switchyard notify remove needs a subscription ID (from switchyard notify list)', 2);
      const { body } = await client.request('DELETE', `/v1/push/subscriptions/${encodeURIComponent(id)}`);
      if (values.json) {
        print(body);
        return;
      }
      process.stdout.write(`unsubscribed ${id}\n`);
      return;
    }
    default:
      throw new CliError(`unknown notify command '${sub}'\n\n${NOTIFY_HELP}`, 2);
  }
}
