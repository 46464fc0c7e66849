/**
 * Where an operator sees history and context: `switchyard history REPO` and `switchyard task show`
 * (the built CLI, a real process, against a real hub), and the dashboard's task view (real Chromium):
 * the assembled context with its tokens and what the budget left out.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../shared/task.js';
import { launchChromium, seriousViolations, signIn } from '../dashboard/support.js';
import { runCli, show } from '../support/cli-run.js';
import { startInprocHub, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub;
let task: Task;
let browser: Browser;

async function finish(spec: Record<string, unknown>, result: unknown): Promise<void> {
  const t = (await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { capabilities: ['surf'], ...spec } })).json() as Task;
  const l = (await h.store.leaseTask(t.id, { agentId: 'x', capabilities: ['surf'], repos: null, anyRoute: true }))!;
  await h.store.accept(t.id, l.lease!.generation, 'x');
  await h.store.complete(t.id, l.lease!.generation, 'x', result);
}

beforeAll(async () => {
  h = await startInprocHub({ listen: true, config: { contextBudget: 60 } });
  await finish({ title: 'Teach the lexer hexadecimal literals', repo: 'calc', context: { files: ['src/lexer.ts'] } }, { submission: { commit: 'c0ffee12' } });
  await finish({ title: 'Lexer error positions', repo: 'calc', context: { files: ['src/lexer.ts'] } }, { summary: 'x'.repeat(400) });
  for (let i = 0; i < 100 && (await h.hub.services.history.list(h.hub.services.access.authenticate(h.adminToken), 'calc')).live < 2; i++) await new Promise((r) => setTimeout(r, 10));
  task = (await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'Octal literals in the lexer', repo: 'calc', capabilities: ['surf'], context: { files: ['src/lexer.ts'] } } })).json() as Task;
  for (let i = 0; i < 100 && !(await h.store.get(task.id))?.assembled_context; i++) await new Promise((r) => setTimeout(r, 10));
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

const env = () => ({ SWITCHYARD_HUB: h.url, SWITCHYARD_ADMIN_TOKEN: h.adminToken });

describe('the CLI', () => {
  it('switchyard history lists the entries, searches them, and has --help', async () => {
    const list = await runCli(['history', 'calc'], { env: env() });
    expect(list.code, show(list)).toBe(0);
    expect(list.stdout).toContain('calc: 2 live, 0 archived');
    expect(list.stdout).toContain('Teach the lexer hexadecimal literals');
    expect(list.stdout).toContain('c0ffee12');
    const found = await runCli(['history', 'calc', '--q', 'hexadecimal', '--json'], { env: env() });
    expect((JSON.parse(found.stdout) as { entries: unknown[] }).entries).toHaveLength(1);
    const none = await runCli(['history'], { env: env() });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('name the repo');
    const help = await runCli(['history', '--help']);
    expect(help.stdout).toContain('Usage: switchyard history REPO');
    expect((await runCli(['mcp', '--help'])).stdout).toContain('claude mcp add switchyard');
  }, 60_000);

  it('switchyard task show prints the assembled context and what was left out', async () => {
    const r = await runCli(['task', 'show', task.id], { env: env() });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/assembled context: \d+\/60 tokens, 1 part\(s\) in, 1 left out/);
    expect(r.stdout).toContain('Teach the lexer hexadecimal literals');
    expect(r.stdout).toMatch(/left out for the budget: history \w+ \(\d+ tokens\)/);
  }, 60_000);
});

describe('the dashboard', () => {
  it("shows the context the agent was given on the task's page", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, h.url, h.adminToken);
    await page.goto(`${h.url}/#/tasks/${task.id}`);
    await page.locator('#task-context-tokens').filter({ hasText: 'of 60 tokens' }).waitFor();
    expect(await page.locator('#task-context-text').textContent()).toContain('Teach the lexer hexadecimal literals');
    expect(await page.locator('#task-context').textContent()).toContain('Left out for the budget: history');
    expect(await seriousViolations(page)).toEqual([]);
    await context.close();
  }, 60_000);
});
