/**
 * `switchyard history REPO` — a repo's project history (GET /v1/repos/:repo/history), and the
 * lines `task show` prints for a task's assembled context (docs/context.md).
 */
import { parseArgs } from 'node:util';
import type { AssembledContext, HistoryList } from '../../shared/context.js';
import { CliError, HubClient } from '../client.js';
import { table, time } from '../format.js';

export const HISTORY_HELP = `Usage: switchyard history REPO [--archived | --all] [--q WORDS] [--limit N] [--json]

A repo's project history, newest first: an entry per finished task (completed, dead-lettered or
cancelled) with its files, commit, and the decisions and answers given on it. The newest 100 are
live (what the context assembler draws on first); older ones are archived and still searchable.
Tasks without a repo are kept under the name "_".

Options:
  --archived    Only archived entries
  --all         Live and archived
  --q WORDS     Entries containing every word (title, files, decisions, answers, summary)
  --limit N     At most N entries (default 100)
  --json        The REST answer as JSON
  --hub URL     The hub (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T     Admin token (default $SWITCHYARD_ADMIN_TOKEN, else ./.switchyard/hub/admin.token)
  -h, --help    Show this help
`;

export async function historyCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      archived: { type: 'boolean' },
      all: { type: 'boolean' },
      q: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      hub: { type: 'string' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HISTORY_HELP);
    return;
  }
  const repo = positionals[0];
  if (!repo) throw new CliError(`name the repo: switchyard history REPO\n\n${HISTORY_HELP}`, 2);
  const query = new URLSearchParams();
  if (values.all) query.set('scope', 'all');
  else if (values.archived) query.set('scope', 'archived');
  if (values.q) query.set('q', values.q);
  if (values.limit) query.set('limit', values.limit);
  const client = new HubClient({ ...(values.hub ? { hub: values.hub } : {}), ...(values.token ? { token: values.token } : {}) });
  const qs = query.toString();
  const { body } = await client.request<HistoryList>('GET', `/v1/repos/${encodeURIComponent(repo)}/history${qs ? `?${qs}` : ''}`);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return;
  }
  const lines = [`${body.repo}: ${body.live} live, ${body.archived} archived`];
  if (body.entries.length === 0) lines.push('no entries match');
  else {
    lines.push(
      table([
        ['SEQ', 'FINISHED', 'OUTCOME', 'TASK', 'COMMIT', 'TITLE', 'FILES'],
        ...body.entries.map((e) => [String(e.seq) + (e.archived ? '*' : ''), time(e.at), e.outcome, e.task_id, e.commit?.slice(0, 10) ?? '-', e.title, e.files.slice(0, 3).join(',') + (e.files.length > 3 ? ` +${e.files.length - 3}` : '')]),
      ]),
    );
    if (body.entries.some((e) => e.archived)) lines.push('* archived');
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** What `task show` prints of a task's assembled context. */
export function contextLines(ctx: AssembledContext | null | undefined): string[] {
  if (!ctx) return [];
  const lines = ['', `assembled context: ${ctx.tokens}/${ctx.budget} tokens, ${ctx.included.length} part(s) in, ${ctx.left_out.length} left out (${time(ctx.assembled_at)})`];
  if (ctx.text) lines.push(...ctx.text.split('\n').map((l) => `  ${l}`));
  if (ctx.left_out.length) lines.push(`left out for the budget: ${ctx.left_out.map((l) => `${l.section} ${l.ref} (${l.tokens} tokens)`).join(', ')}`);
  return lines;
}
