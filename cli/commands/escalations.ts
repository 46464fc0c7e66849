/** `switchyard escalations [show ID | resolve ID]`: what needs a person (docs/workflow.md, "Escalations"). */
import { parseArgs } from 'node:util';
import type { Escalation } from '../../shared/workflow.js';
import { CliError, HubClient } from '../client.js';
import { table, time } from '../format.js';

export const ESCALATIONS_HELP = `Usage: switchyard escalations [options]
       switchyard escalations show ID [options]
       switchyard escalations resolve ID [--resolution TEXT] [options]

The escalation queue: what the workflow cannot settle without a person. A circuit breaker that
opened, a plan or high-risk work awaiting approval, a question unanswered too long, a delegated
task that neither its agent nor a fallback took. Open ones are listed by priority, oldest first.
Most resolve themselves when the task moves on (approve it, answer it, retry it); resolve one by
hand to record what was done about it. docs/workflow.md says what raises each kind.

Options:
  --status S       open | resolved | all (default open)
  --kind K         circuit_open | plan_approval | high_risk_review | unanswered_question | delegation_untaken
  --task ID        Only this task's
  --limit N        At most N (default 100)
  --resolution T   With resolve: what was done about it
  --hub URL        Hub URL (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T        Admin token (default $SWITCHYARD_ADMIN_TOKEN or .switchyard/hub/admin.token)
  --json           Print JSON instead of text
  -h, --help       This help
`;

export async function escalationsCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      status: { type: 'string' },
      kind: { type: 'string' },
      task: { type: 'string' },
      limit: { type: 'string' },
      resolution: { type: 'string' },
      hub: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals[0] === 'help') {
    process.stdout.write(ESCALATIONS_HELP);
    return;
  }
  const client = new HubClient(values);
  const out = (value: unknown, text: () => string) => process.stdout.write(`${values.json ? JSON.stringify(value, null, 2) : text()}\n`);
  const [sub, id] = positionals;
  const describe = (e: Escalation) =>
    [`${e.id}  ${e.kind}  ${e.priority}  ${e.resolved_at === null ? 'open' : `resolved ${time(e.resolved_at)} by ${e.resolved_by ?? '?'}`}`, `task ${e.task_id}: ${e.title}`, e.message, ...(e.resolution ? [`resolution: ${e.resolution}`] : [])].join('\n');
  if (sub === 'show' || sub === 'resolve') {
    if (!id) throw new CliError(`switchyard escalations ${sub} needs an escalation ID (the first column of switchyard escalations)`, 2);
    const path = `/v1/escalations/${encodeURIComponent(id)}`;
    const { body } =
      sub === 'show'
        ? await client.request<{ escalation: Escalation }>('GET', path)
        : await client.request<{ escalation: Escalation }>('POST', `${path}/resolve`, values.resolution ? { resolution: values.resolution } : {});
    out(body.escalation, () => describe(body.escalation));
    return;
  }
  if (sub !== undefined) throw new CliError(`unknown escalations command '${sub}' (see switchyard escalations --help)`, 2);
  const q = new URLSearchParams();
  for (const k of ['status', 'kind', 'task', 'limit'] as const) if (values[k]) q.set(k, values[k]!);
  const { body } = await client.request<{ escalations: Escalation[] }>('GET', `/v1/escalations?${q}`);
  out(body.escalations, () => {
    if (body.escalations.length === 0) return (values.status ?? 'open') === 'open' ? 'no open escalations' : 'no escalations';
    return table([['ID', 'KIND', 'PRIORITY', 'TASK', 'RAISED', 'TITLE'], ...body.escalations.map((e) => [e.id, e.kind, e.priority, e.task_id, time(e.created_at), e.title])]);
  });
}
