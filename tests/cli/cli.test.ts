/**
 * The compiled CLI (dist/cli/switchyard.js) as a user runs it: a child process per command,
 * talking to a real hub listening on 127.0.0.1 in this process. Covers help for every command,
 * agent and task commands end to end, and the messages for an unreachable hub, a bad token and
 * unknown commands.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../shared/task.js';
import { ADMIN_TOKEN, RawClient, startInprocHub, type InprocHub } from '../support/hub-inproc.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/switchyard.js');

let h: InprocHub;
/** An empty working folder, so the CLI finds no .switchyard/hub/admin.token of its own. */
let cwd: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI asynchronously (the hub it talks to runs in this process's event loop). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith('SWITCHYARD_')) delete base[k];
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { cwd, env: { ...base, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      // A kill (the timeout) has no exit code: -1, so it never passes for a real one.
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      done({ code, stdout, stderr: err?.signal ? `${stderr}\n[killed by ${err.signal}]` : stderr });
    });
  });
}

/** Asserts the exit code, showing the output when it differs. */
function expectExit(r: Run, code: number): void {
  expect(r.code, `exit code; stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
}

/** Options that point a command at the test hub. */
const at = () => ['--hub', h.url, '--token', ADMIN_TOKEN];

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

beforeAll(async () => {
  if (!existsSync(CLI)) {
    // tsc emits even when some other file has a type error; what matters is the output exists.
    await new Promise<void>((r) => execFile('npx', ['tsc', '-p', '.'], { cwd: ROOT, timeout: 300_000 }, () => r()));
    if (!existsSync(CLI)) throw new Error(`building the CLI did not produce ${CLI}`);
  }
  h = await startInprocHub({ listen: true });
  cwd = await mkdtemp(join(tmpdir(), 'sy-cli-'));
}, 300_000);

afterAll(async () => {
  await h?.close();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe('help', () => {
  const HELP: Array<[string, RegExp]> = [
    ['hub', /Usage: switchyard hub \[options\][\s\S]*--data DIR[\s\S]*--port P/],
    ['sidecar', /Usage: switchyard sidecar \[options\][\s\S]*--agent ID[\s\S]*--executors LIST/],
    ['task', /Usage: switchyard task <command>[\s\S]*add[\s\S]*list[\s\S]*show ID[\s\S]*cancel ID[\s\S]*retry ID/],
    ['agent', /Usage: switchyard agent <command>[\s\S]*add ID[\s\S]*remove ID/],
    ['up', /Usage: switchyard up \[options\][\s\S]*--sidecars N/],
    ['hub ack', /Usage: switchyard hub ack[\s\S]*needs_ack[\s\S]*--hub URL/],
    ['alerts', /Usage: switchyard alerts \[options\][\s\S]*switchyard alerts ack ID[\s\S]*--all/],
    ['audit', /Usage: switchyard audit \[options\][\s\S]*--actor A[\s\S]*--since T/],
    ['limits', /Usage: switchyard limits \[command\][\s\S]*set SUBJECT --factor F[\s\S]*clear SUBJECT/],
    ['token', /Usage: switchyard token <command>[\s\S]*add NAME --role ROLE[\s\S]*revoke ID[\s\S]*rotate-admin/],
  ];
  /** Every help invocation, run concurrently up front (each is a node start-up). */
  const runs = new Map<string, Run>();
  beforeAll(async () => {
    const port = await closedPort();
    const unreachable = ['--hub', `http://127.0.0.1:${port}`];
    const all: Array<[string, string[]]> = [
      ['--help', ['--help']],
      ['(none)', []],
      ...HELP.map(([name]) => [name, [...name.split(' '), '--help']] as [string, string[]]),
      ['task add --help', ['task', 'add', '--help', ...unreachable]],
      ['agent add --help', ['agent', 'add', '--help', ...unreachable]],
    ];
    const results = await Promise.all(all.map(([, args]) => cli(args)));
    all.forEach(([key], i) => runs.set(key, results[i]!));
  });

  it('prints the overview for --help and for no command', () => {
    for (const key of ['--help', '(none)']) {
      const r = runs.get(key)!;
      expectExit(r, 0);
      expect(r.stdout).toMatch(/^Usage: switchyard <command>/);
      for (const name of ['up', 'hub', 'sidecar', 'task', 'agent']) expect(r.stdout).toMatch(new RegExp(`^  ${name}\\s`, 'm'));
    }
  });

  it.each(HELP)('%s --help exits 0 and prints its usage', (name, usage) => {
    const r = runs.get(name)!;
    expectExit(r, 0);
    expect(r.stdout).toMatch(usage);
    expect(r.stderr).toBe('');
  });

  it('task add --help and agent add --help print usage too, without calling a hub', () => {
    for (const key of ['task add --help', 'agent add --help']) {
      const r = runs.get(key)!;
      expectExit(r, 0);
      expect(r.stdout).toMatch(/^Usage: switchyard/);
    }
  });
});

describe('agents', () => {
  it('add prints a token that connects a sidecar; list shows it; remove removes it', async () => {
    const add = await cli(['agent', 'add', 'cli-agent', '--description', 'from the CLI', ...at()]);
    expectExit(add, 0);
    const token = /token \(shown once\): (\S+)/.exec(add.stdout)?.[1];
    expect(token).toMatch(/^sy_agent_/);
    expect(add.stdout).toContain('registered cli-agent');

    // The printed token is the real one: a sidecar can say hello with it.
    const sidecar = await RawClient.connect(h.wsUrl, 'cli-agent', token!);
    const list = await cli(['agent', 'list', ...at()]);
    expectExit(list, 0);
    expect(list.stdout).toMatch(/^cli-agent\s+idle\s+0\s+.*from the CLI$/m);
    expect(list.stdout).not.toContain(token!);
    await sidecar.close();

    const again = await cli(['agent', 'add', 'cli-agent', ...at()]);
    expectExit(again, 1);
    expect(again.stderr).toMatch(/AGENT_EXISTS/);

    // set: the priority lands on the record and shows in `agent show`; a bad one is refused before any request.
    const set = await cli(['agent', 'set', 'cli-agent', '--priority', '7', ...at()]);
    expect(set).toMatchObject({ code: 0, stdout: 'cli-agent: priority 7, from the CLI\n' });
    expect((await cli(['agent', 'show', 'cli-agent', ...at()])).stdout).toMatch(/^ {2}last seen .*, priority 7$/m);
    const bad = await cli(['agent', 'set', 'cli-agent', '--priority', 'high', ...at()]);
    expectExit(bad, 2);
    expect(bad.stderr).toContain("--priority must be a whole number from -100 to 100, not 'high'");
    expectExit(await cli(['agent', 'set', 'cli-agent', ...at()]), 2);

    const remove = await cli(['agent', 'remove', 'cli-agent', ...at()]);
    expect(remove).toMatchObject({ code: 0, stdout: 'removed cli-agent\n' });
    const gone = await cli(['agent', 'remove', 'cli-agent', ...at()]);
    expectExit(gone, 1);
    expect(gone.stderr).toMatch(/AGENT_NOT_FOUND/);
  });
});

describe('tokens', () => {
  it('add prints a token that works for its role; list shows it without the token; revoke ends it', async () => {
    const add = await cli(['token', 'add', 'wall-screen', '--role', 'viewer', '--ttl', '30d', ...at()]);
    expectExit(add, 0);
    const token = /token \(shown once\): (\S+)/.exec(add.stdout)?.[1];
    expect(token).toMatch(/^syv_/);
    const id = /id ([0-9a-f]{16})/.exec(add.stdout)?.[1];
    expect(add.stdout).toMatch(/^added wall-screen \(viewer, id [0-9a-f]{16}, expires /);
    // The viewer reads with it, and may not write.
    expectExit(await cli(['task', 'list', '--hub', h.url, '--token', token!]), 0);
    const write = await cli(['task', 'add', '--title', 'no', '--command', 'true', '--hub', h.url, '--token', token!]);
    expectExit(write, 1);
    expect(write.stderr).toContain('FORBIDDEN');
    const list = await cli(['token', 'list', ...at()]);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+wall-screen\\s+viewer\\s+active\\s+admin`, 'm'));
    expect(list.stdout).not.toContain(token!);
    expect(await cli(['token', 'revoke', id!, ...at()])).toMatchObject({ code: 0, stdout: `revoked ${id} (wall-screen, viewer)\n` });
    expectExit(await cli(['task', 'list', '--hub', h.url, '--token', token!]), 1);
    const bad = await cli(['token', 'add', 'x', '--role', 'root', ...at()]);
    expectExit(bad, 2);
    expect(bad.stderr).toContain('--role admin|operator|viewer|metrics');
  });
});

describe('tasks', () => {
  it('add, list, show, cancel', async () => {
    const add = await cli(['task', 'add', '--title', 'Build the docs', '--command', 'make docs', '--lane', 'high', ...at()]);
    expectExit(add, 0);
    const id = /^created (\S+) \(queued\)$/m.exec(add.stdout)?.[1];
    expect(id).toBeDefined();
    const stored = (await h.store.get(id!))!;
    expect(stored).toMatchObject({ title: 'Build the docs', command: 'make docs', executor: 'shell', lane: 'high', status: 'queued' });

    const [list, filtered, show] = await Promise.all([
      cli(['task', 'list', ...at()]),
      cli(['task', 'list', '--status', 'completed', ...at()]),
      cli(['task', 'show', id!, ...at()]),
    ]);
    expectExit(list, 0);
    expect(list.stdout).toMatch(/^ID\s+STATUS\s+LANE\s+AGENT\s+TRIES\s+TITLE$/m);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+queued\\s+high\\s+-\\s+0\\s+Build the docs$`, 'm'));
    expect(filtered.stdout.trim()).toBe('no tasks');

    expectExit(show, 0);
    expect(show.stdout).toContain(`${id}  Build the docs`);
    expect(show.stdout).toMatch(/status queued\s+lane high/);
    expect(show.stdout).toMatch(/^TIME\s+FROM\s+TO\s+GEN\s+BY\s+REASON$/m);
    expect(show.stdout).toMatch(/-\s+queued\s+0\s+admin\s+created/);

    const cancel = await cli(['task', 'cancel', id!, '--reason', 'changed my mind', ...at()]);
    expect(cancel).toMatchObject({ code: 0, stdout: `${id} is cancelled\n` });
    expect((await h.store.get(id!))!.status).toBe('cancelled');
    const events = (await h.store.events({ taskId: id! })).items;
    expect(events.at(-1)).toMatchObject({ to: 'cancelled', reason: 'changed my mind' });

    const twice = await cli(['task', 'cancel', id!, ...at()]);
    expectExit(twice, 1);
    expect(twice.stderr).toMatch(/ILLEGAL_TRANSITION/);
  });

  it('prints JSON with --json, and honours --idempotency-key', async () => {
    const args = ['task', 'add', '--title', 'once only', '--idempotency-key', 'cli-key-1', '--json', ...at()];
    const first = await cli(args);
    expectExit(first, 0);
    const task = JSON.parse(first.stdout) as Task;
    expect(task).toMatchObject({ title: 'once only', idempotency_key: 'cli-key-1' });
    const again = await cli(args.filter((a) => a !== '--json'));
    expect(again.stdout.trim()).toBe(`exists ${task.id} (queued)`);
  });

  it('shows an unknown task as TASK_NOT_FOUND, and refuses bad input before calling the hub', async () => {
    const [missing, noTitle, badLane] = await Promise.all([
      cli(['task', 'show', 'NOPE', ...at()]),
      cli(['task', 'add', ...at()]),
      cli(['task', 'add', '--title', 'x', '--lane', 'asap', ...at()]),
    ]);
    expectExit(missing, 1);
    expect(missing.stderr).toMatch(/TASK_NOT_FOUND/);
    expectExit(noTitle, 2);
    expect(noTitle.stderr).toMatch(/needs --title/);
    expectExit(badLane, 1);
    expect(badLane.stderr).toMatch(/VALIDATION_FAILED.*lane/);
  });
});

describe('failures', () => {
  it("says 'hub unreachable' when nothing listens", async () => {
    const port = await closedPort();
    const r = await cli(['task', 'list', '--hub', `http://127.0.0.1:${port}`, '--token', ADMIN_TOKEN]);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain('hub unreachable');
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('explains a refused token, and a missing one', async () => {
    const [bad, none, env] = await Promise.all([
      cli(['task', 'list', '--hub', h.url, '--token', 'sya_not-the-token']),
      cli(['task', 'list', '--hub', h.url]),
      // The token from the environment works.
      cli(['task', 'list', '--hub', h.url], { SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN }),
    ]);
    expectExit(bad, 1);
    expect(bad.stderr).toMatch(/refused the token.*UNAUTHORIZED/);
    expect(bad.stderr).toContain('SWITCHYARD_ADMIN_TOKEN');
    expect(bad.stderr).not.toContain('sya_not-the-token');

    expectExit(none, 1);
    expect(none.stderr).toMatch(/no admin token/);
    expectExit(env, 0);
  });

  it('exits 2 for an unknown command, subcommand or option', async () => {
    const [unknown, sub, option] = await Promise.all([cli(['frobnicate']), cli(['task', 'explode', ...at()]), cli(['task', 'list', '--colour', ...at()])]);
    expectExit(unknown, 2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(unknown.stderr).toContain('Usage: switchyard');
    expectExit(sub, 2);
    expect(sub.stderr).toMatch(/unknown command 'task explode'/);
    expectExit(option, 2);
    expect(option.stderr).toMatch(/--colour/);
  });
});

describe('task show for a coding run', () => {
  it('shows branch, link, usage and verification as fields, and a failed attempt\u2019s report under its error', async () => {
    // A hub of its own, so that no other test's task is offered to this agent.
    const own = await startInprocHub({ listen: true, config: { maxAttempts: 2 } });
    try {
      const token = await own.addAgent('coder');
      const agent = await RawClient.connect(own.wsUrl, 'coder', token, { executors: [{ name: 'ollama', available: true, models: ['qwen2.5-coder:7b'] }] });
      const verification = { passed: false, duration_ms: 900, checks: [{ type: 'test_passes', passed: false, duration_ms: 900, output_tail: 'not ok 1 - sum(2, 2) is 4', target: 'node test.mjs', exit_code: 1 }] };
      const result = {
        executor: 'ollama',
        output_tail: 'wrote sum.mjs\n',
        exit_code: 0,
        iterations: [{ n: 1 }, { n: 2 }],
        verification,
        usage: { input_tokens: 2_000, output_tokens: 300, cost_usd: 0, wall_ms: 12_000 },
        branch: 'task/x-add-sum',
        submission: null,
        url: null,
        notes: 'x'.repeat(600),
      };
      const created = await own.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: own.auth(), payload: { title: 'Add a sum function', executor: 'ollama', model: 'qwen2.5-coder:7b' } });
      const id = (created.json() as Task).id;

      // First attempt fails (retryable): its result is kept as last_error.details.result.
      let assign = await agent.nextOf('task.assign');
      agent.send({ type: 'task.accept', id: 'a1', task_id: id, generation: assign.generation as number });
      await agent.next((m) => m.id === 'a1');
      agent.send({ type: 'task.fail', id: 'f1', task_id: id, generation: assign.generation as number, error: { code: 'EXEC_VERIFICATION_FAILED', message: 'the work did not pass after 2 iteration(s); failing: test_passes', retryable: true }, result });
      await agent.next((m) => m.id === 'f1');
      const failed = await cli(['task', 'show', id, '--hub', own.url, '--token', ADMIN_TOKEN]);
      expectExit(failed, 0);
      expect(failed.stdout).toMatch(/^last error EXEC_VERIFICATION_FAILED: the work did not pass/m);
      expect(failed.stdout).toMatch(/^last attempt's result:$/m);
      expect(failed.stdout).toMatch(/^ {4}FAIL test_passes node test\.mjs \(exit 1\)$/m);
      expect(failed.stdout).toMatch(/^ +not ok 1 - sum\(2, 2\) is 4$/m);

      // Second attempt completes: the result's fields, each on its own line.
      await own.hub.app.inject({ method: 'POST', url: `/v1/tasks/${id}/retry`, headers: own.auth(), payload: {} });
      assign = await agent.nextOf('task.assign', 10_000);
      agent.send({ type: 'task.accept', id: 'a2', task_id: id, generation: assign.generation as number });
      await agent.next((m) => m.id === 'a2');
      const done = { ...result, verification: { ...verification, passed: true, checks: [{ ...verification.checks[0], passed: true, exit_code: 0 }] }, submission: { branch: 'task/x-add-sum', commit: '0123456789abcdef', changed: true, pushed: true, pr_url: null, url: 'https://example.test/calc/tree/task/x-add-sum' }, url: 'https://example.test/calc/tree/task/x-add-sum' };
      agent.send({ type: 'task.complete', id: 'c2', task_id: id, generation: assign.generation as number, result: done });
      await agent.next((m) => m.id === 'c2');
      const show = await cli(['task', 'show', id, '--hub', own.url, '--token', ADMIN_TOKEN]);
      expectExit(show, 0);
      expect(show.stdout).toMatch(/^status completed/m);
      expect(show.stdout).toMatch(/^ {2}branch {7}task\/x-add-sum {3}commit 0123456789ab {3}pushed$/m);
      expect(show.stdout).toMatch(/^ {2}link {9}https:\/\/example\.test\/calc\/tree\/task\/x-add-sum$/m);
      expect(show.stdout).toMatch(/^ {2}usage {8}2,000 in \/ 300 out tokens, \$0\.0000, 12\.0 s$/m);
      expect(show.stdout).toMatch(/^ {2}verification passed \(1 check, 900 ms\)$/m);
      expect(show.stdout).toMatch(/^ {2}also {9}notes \(--json shows them\)$/m);
      await agent.close();
    } finally {
      await own.close();
    }
  });
});
