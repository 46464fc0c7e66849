/** `switchyard usage` (tokens and cost, grouped) and `switchyard budget set|list|remove` (daily limits per repo). docs/usage.md. */
import { parseArgs } from 'node:util';
import { ON_LIMIT, USAGE_GROUPS, utcDay, type BudgetBody, type BudgetList, type BudgetView, type UsageAnswer } from '../../shared/usage.js';
import { CliError, HubClient } from '../client.js';
import { table, usd } from '../format.js';

const COMMON_HELP = `  --hub URL     Hub URL (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T     Admin, operator or viewer token (default $SWITCHYARD_ADMIN_TOKEN or .switchyard/hub/admin.token)
  --json        Print JSON
`;

export const USAGE_HELP = `Usage: switchyard usage [options]

Tokens and cost charged by the runs of tasks, summed per group, between two UTC days
(inclusive): one row per group with tokens in and out, cost and runs, then the total.

Options:
  --by LIST     Groups, comma-separated: ${USAGE_GROUPS.join(', ')} (default repo,day)
  --since D     First day: Nd for the last N days, today included (7d), or YYYY-MM-DD (default: all)
  --until D     Last day, the same way (default: today)
${COMMON_HELP}
Examples:
  switchyard usage --since 7d                 # per repo and day, the last 7 days
  switchyard usage --by model --since 2025-01-01 --until 2025-01-31
`;

export const BUDGET_HELP = `Usage: switchyard budget <command> [options]

Daily budgets per repo (UTC days). At the limit the repo's tasks start on no paid executor:
they wait until the next day, or (--on-limit local) run on an agent without a paid one.

Commands:
  list                  Each budget with today's spend, its percent and whether it is blocked (the default)
  set REPO [options]    Set REPO's budget: --cost, --tokens or both
  remove REPO           Remove REPO's budget

set options:
  --cost USD            US dollars per day (5, 0.50)
  --tokens N            Input plus output tokens per day
  --on-limit MODE       wait | local (default wait)

Options:
${COMMON_HELP}
Examples:
  switchyard budget set web --cost 5 --tokens 2000000 --on-limit local
  switchyard budget list
  switchyard budget remove web
`;

const common = { hub: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

const json = (body: unknown) => `${JSON.stringify(body, null, 2)}\n`;

/** `Nd` (the last N UTC days, today included) or `YYYY-MM-DD`, as a UTC day. */
export function dayOf(option: string, text: string, now: number): string {
  const n = /^(\d+)d$/.exec(text.trim());
  if (n && Number(n[1]) >= 1) return utcDay(now - (Number(n[1]) - 1) * 86_400_000);
  if (/^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`)) && utcDay(Date.parse(`${text}T00:00:00Z`)) === text) return text;
  throw new CliError(`${option} '${text}' is neither a number of days (7d) nor a day (YYYY-MM-DD)`, 2);
}

export async function usageCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { ...common, by: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' } } });
  if (values.help) {
    process.stdout.write(USAGE_HELP);
    return;
  }
  const now = Date.now();
  const by = (values.by ?? 'repo,day').split(',').map((g) => g.trim());
  const unknown = by.filter((g) => !(USAGE_GROUPS as readonly string[]).includes(g));
  if (unknown.length) throw new CliError(`--by: unknown group ${unknown.map((g) => `'${g}'`).join(', ')}; use ${USAGE_GROUPS.join(', ')}`, 2);
  const q = new URLSearchParams({ by: by.join(',') });
  if (values.since) q.set('since', dayOf('--since', values.since, now));
  if (values.until) q.set('until', dayOf('--until', values.until, now));
  const { body } = await new HubClient(values).request<UsageAnswer>('GET', `/v1/usage?${q}`);
  if (values.json) {
    process.stdout.write(json(body));
    return;
  }
  const range = body.since || body.until ? ` from ${body.since ?? 'the start'} to ${body.until ?? 'today'} (UTC)` : '';
  if (body.rows.length === 0) {
    process.stdout.write(`no usage${range}\n`);
    return;
  }
  const counts = (t: UsageAnswer['total']) => [String(t.input_tokens), String(t.output_tokens), usd(t.cost_usd), String(t.runs)];
  const rows = body.rows.map((r) => [...body.by.map((g) => r[g] ?? '-'), ...counts(r)]);
  const header = [...body.by.map((g) => g.toUpperCase()), 'TOKENS IN', 'TOKENS OUT', 'COST', 'RUNS'];
  const total = ['TOTAL', ...body.by.slice(1).map(() => ''), ...counts(body.total)];
  process.stdout.write(`${table([header, ...rows, total])}\n${range ? `${range.trim()}\n` : ''}`);
}

/** "$5/day, 2000000 tokens/day". */
const limitsOf = (b: BudgetView) => [b.cost_usd_per_day !== null ? `$${b.cost_usd_per_day}/day` : '', b.tokens_per_day !== null ? `${b.tokens_per_day} tokens/day` : ''].filter(Boolean).join(', ');
const spentOf = (b: BudgetView) => `${usd(b.spent_cost_usd)}, ${b.spent_tokens} tokens`;

function positiveNumber(option: string, text: string, integer: boolean): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) throw new CliError(`${option} must be a ${integer ? 'whole number' : 'number'} above 0, not '${text}'`, 2);
  return v;
}

export async function budgetCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...common, cost: { type: 'string' }, tokens: { type: 'string' }, 'on-limit': { type: 'string' } } });
  const [sub = 'list', repo, ...extra] = positionals;
  if (values.help || sub === 'help') {
    process.stdout.write(BUDGET_HELP);
    return;
  }
  if (!['list', 'set', 'remove'].includes(sub)) throw new CliError(`unknown command 'budget ${sub}' (see switchyard budget --help)`, 2);
  if (sub !== 'list' && !repo) throw new CliError(`switchyard budget ${sub} needs a REPO (see switchyard budget --help)`, 2);
  if (extra.length || (sub === 'list' && repo)) throw new CliError(`switchyard budget ${sub}: unexpected '${(sub === 'list' ? [repo!, ...extra] : extra).join(' ')}'`, 2);
  const client = new HubClient(values);
  const print = (body: unknown, text: string) => process.stdout.write(values.json ? json(body) : `${text}\n`);

  if (sub === 'list') {
    const { body } = await client.request<BudgetList>('GET', '/v1/budgets');
    const rows = body.budgets.map((b) => [b.repo, limitsOf(b), b.on_limit, spentOf(b), `${b.percent}%`, b.blocked ? 'BLOCKED' : 'no']);
    print(body, rows.length ? table([['REPO', 'LIMIT', 'ON LIMIT', 'TODAY (UTC)', 'PERCENT', 'BLOCKED'], ...rows]) : 'no budgets (switchyard budget set REPO --cost USD)');
    return;
  }
  if (sub === 'remove') {
    const { body } = await client.request<{ repo: string; removed: true }>('DELETE', `/v1/budgets/${encodeURIComponent(repo!)}`);
    print(body, `${repo}: budget removed; its tasks may use paid executors again`);
    return;
  }
  const body: BudgetBody = {};
  if (values.cost !== undefined) body.cost_usd_per_day = positiveNumber('--cost', values.cost, false);
  if (values.tokens !== undefined) body.tokens_per_day = positiveNumber('--tokens', values.tokens, true);
  const onLimit = values['on-limit'];
  if (onLimit !== undefined) {
    if (!(ON_LIMIT as readonly string[]).includes(onLimit)) throw new CliError(`--on-limit must be ${ON_LIMIT.join(' or ')}, not '${onLimit}'`, 2);
    body.on_limit = onLimit as BudgetBody['on_limit'];
  }
  if (body.cost_usd_per_day === undefined && body.tokens_per_day === undefined) throw new CliError('switchyard budget set needs --cost USD, --tokens N or both', 2);
  const { body: b } = await client.request<BudgetView>('PUT', `/v1/budgets/${encodeURIComponent(repo!)}`, body);
  print(b, `${b.repo}: ${limitsOf(b)}, on limit ${b.on_limit}; today ${spentOf(b)} (${b.percent}%)${b.blocked ? ', BLOCKED' : ''}`);
}
