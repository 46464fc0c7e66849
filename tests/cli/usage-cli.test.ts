/**
 * `switchyard usage`, `switchyard budget` and the usage in `switchyard task show`, run as the
 * compiled CLI (dist; `npm run build` first) against a real hub on 127.0.0.1 in this process,
 * with usage charged by an agent on the wire: help, tables, JSON, and clear refusals of bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetList, UsageAnswer } from '../../shared/usage.js';
import { runCli, show, type CliRun } from '../support/cli-run.js';
import { ADMIN_TOKEN, RawClient, startInprocHub, type InprocHub } from '../support/hub-inproc.js';
import { runWithUsage } from '../support/usage-run.js';

let h: InprocHub;
let agent: RawClient;
const today = new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  h = await startInprocHub({ listen: true });
  agent = await RawClient.connect(h.wsUrl, 'gpu1', await h.addAgent('gpu1'), { executors: [{ name: 'claude', available: true, models: ['sonnet'] }], max_concurrency: 1 });
});
afterAll(async () => {
  await agent?.close();
  await h?.close();
});

const sy = (...args: string[]) => runCli([...args, '--hub', h.url, '--token', ADMIN_TOKEN]);
function ok(r: CliRun): string {
  expect(r.code, show(r)).toBe(0);
  return r.stdout;
}
/** Refused as a usage mistake (exit 2), with `says` on stderr. */
function refused(r: CliRun, says: RegExp): void {
  expect(r.code, show(r)).toBe(2);
  expect(r.stderr).toMatch(says);
  expect(r.stdout).toBe('');
}

async function charge(repo: string, usage: Record<string, number>): Promise<string> {
  const res = await fetch(`${h.url}/v1/tasks`, { method: 'POST', headers: h.auth({ 'content-type': 'application/json' }), body: JSON.stringify({ title: `work on ${repo}`, repo, executor: 'claude', model: 'sonnet' }) });
  expect(res.status).toBe(201);
  return (await runWithUsage(h, agent, usage, 'claude')).id;
}

describe('help', () => {
  it('usage --help, budget --help and the overview say how to use them', async () => {
    const [usage, budget, top] = await Promise.all([runCli(['usage', '--help']), runCli(['budget', '--help']), runCli(['--help'])]);
    expect(ok(usage)).toMatch(/^Usage: switchyard usage \[options\][\s\S]*--by LIST[\s\S]*--since D[\s\S]*--until D[\s\S]*--json/);
    expect(ok(budget)).toMatch(/^Usage: switchyard budget <command>[\s\S]*list[\s\S]*set REPO[\s\S]*remove REPO[\s\S]*--cost USD[\s\S]*--tokens N[\s\S]*--on-limit MODE/);
    expect(ok(top)).toMatch(/^ {2}usage\s+Tokens and cost/m);
    expect(top.stdout).toMatch(/^ {2}budget\s+Daily budgets per repo/m);
  });
});

describe('budget and usage against a hub', () => {
  it('sets, lists (spend, percent, blocked) and removes a budget; refuses bad input', async () => {
    refused(await sy('budget', 'set', 'web', '--cost', '1', '--on-limit', 'sometimes'), /--on-limit must be wait or local, not 'sometimes'/);
    refused(await sy('budget', 'set', 'web'), /needs --cost USD, --tokens N or both/);
    refused(await sy('budget', 'set', 'web', '--cost', 'lots'), /--cost must be a number above 0, not 'lots'/);
    refused(await sy('budget', 'set', 'web', '--tokens', '1.5'), /--tokens must be a whole number above 0/);
    refused(await sy('budget', 'set'), /budget set needs a REPO/);
    refused(await sy('budget', 'frobnicate'), /unknown command 'budget frobnicate'/);
    expect(ok(await sy('budget', 'list'))).toMatch(/^no budgets/);

    expect(ok(await sy('budget', 'set', 'web', '--cost', '1', '--tokens', '1000'))).toBe('web: $1/day, 1000 tokens/day, on limit wait; today $0.00, 0 tokens (0%)\n');
    await charge('web', { input_tokens: 100, output_tokens: 20, cost_usd: 0.85 });
    const listed = ok(await sy('budget', 'list')).split('\n');
    expect(listed[0]).toMatch(/^REPO\s+LIMIT\s+ON LIMIT\s+TODAY \(UTC\)\s+PERCENT\s+BLOCKED$/);
    expect(listed[1]).toMatch(/^web\s+\$1\/day, 1000 tokens\/day\s+wait\s+\$0\.85, 120 tokens\s+85%\s+no$/);
    await charge('web', { input_tokens: 10, output_tokens: 10, cost_usd: 0.2 });
    expect(ok(await sy('budget', 'list'))).toMatch(/^web\s.*\$1\.05, 140 tokens\s+105%\s+BLOCKED$/m);
    const json = JSON.parse(ok(await sy('budget', 'list', '--json'))) as BudgetList;
    expect(json.budgets).toMatchObject([{ repo: 'web', blocked: true, percent: 105, day: today }]);

    expect(ok(await sy('budget', 'set', 'web', '--tokens', '5000', '--on-limit', 'local'))).toMatch(/^web: 5000 tokens\/day, on limit local; today \$1\.05, 140 tokens \(2\.8%\)\n$/);
    expect(ok(await sy('budget', 'remove', 'web'))).toMatch(/^web: budget removed/);
    const again = await sy('budget', 'remove', 'web');
    expect(again.code, show(again)).toBe(1);
    expect(again.stderr).toMatch(/BUDGET_NOT_FOUND: no budget for repo web/);
  });

  it('usage prints a table of rows (tokens in/out, cost, runs) and the total, or JSON; refuses bad groups and days', async () => {
    const task = await charge('api', { input_tokens: 300, output_tokens: 30, cost_usd: 0.006 });
    const out = ok(await sy('usage', '--by', 'repo,day', '--since', '7d')).split('\n');
    expect(out[0]).toMatch(/^DAY\s+REPO\s+TOKENS IN\s+TOKENS OUT\s+COST\s+RUNS$/);
    expect(out).toContainEqual(expect.stringMatching(new RegExp(`^${today}\\s+api\\s+300\\s+30\\s+\\$0\\.0060\\s+1$`)));
    expect(out).toContainEqual(expect.stringMatching(new RegExp(`^${today}\\s+web\\s+110\\s+30\\s+\\$1\\.05\\s+2$`)));
    expect(out).toContainEqual(expect.stringMatching(/^TOTAL\s+410\s+60\s+\$1\.06\s+3$/));
    expect(out).toContainEqual(expect.stringMatching(new RegExp(`from ${new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10)} to today \\(UTC\\)`)));

    const byModel = JSON.parse(ok(await sy('usage', '--by', 'model', '--until', today, '--json'))) as UsageAnswer;
    expect(byModel.rows).toEqual([{ model: 'sonnet', input_tokens: 410, output_tokens: 60, cost_usd: expect.closeTo(1.056, 6), runs: 3 }]);
    expect(ok(await sy('usage', '--since', '2999-01-01'))).toBe('no usage from 2999-01-01 to today (UTC)\n');

    refused(await sy('usage', '--by', 'repo,colour'), /--by: unknown group 'colour'; use day, repo, model, executor/);
    refused(await sy('usage', '--since', 'last week'), /--since 'last week' is neither a number of days \(7d\) nor a day \(YYYY-MM-DD\)/);
    refused(await sy('usage', '--until', '2025-02-30'), /--until '2025-02-30' is neither/);

    const shown = ok(await sy('task', 'show', task));
    expect(shown).toMatch(/^usage: 300 in \/ 30 out tokens, \$0\.0060, 1 run$/m);
    expect(shown).toMatch(/^ {2}claude\/sonnet: 300 in \/ 30 out tokens, \$0\.0060, 1 run$/m);
  });
});
