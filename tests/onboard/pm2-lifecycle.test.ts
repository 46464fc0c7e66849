/**
 * An agent host's whole life, with real parts: a hub process, the compiled CLI as a user runs it,
 * a real pm2 daemon (its own PM2_HOME in a temp folder; killed at the end), the sidecar under
 * pm2, a fake Ollama speaking the real wire format, and stub `claude`, `gh`, `nvidia-smi` on PATH.
 *
 *   invite -> onboard -> the agent online, the smoke task completed on it, under pm2
 *   the token in no output, argv, process environment, pm2 list or pm2 dump
 *   status; submit from a checkout (a two-iteration coding task, then a failing one)
 *   kill -9 the sidecar: pm2 restarts it, it resumes its task under the same lease, completes it once
 *   teardown: no pm2 app, the old token refused (401, close 4001), the agent gone; rerun is safe
 *   the hub under pm2 from ecosystem.config.cjs
 * The tests run in order and share the host.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnboardState } from '../../cli/onboard/state.js';
import type { Task, TaskEvent } from '../../shared/task.js';
import { CALC_REPO_FILES, FAIL_THEN_FIX } from '../fixtures/calc-repo.js';
import { startFakeOllama, type FakeOllama } from '../fixtures/fake-ollama.js';
import { runCli, show } from '../support/cli-run.js';
import { PR_URL, writeHostStubs } from '../support/host-stubs.js';
import { helloMessage, RawClient } from '../support/hub-inproc.js';
import { TestPm2 } from '../support/pm2-home.js';
import { ADMIN, api, ensureBuilt, freePort, ROOT, startHubProc, tempDir, waitFor, type HubProc } from '../support/processes.js';
import { git, initRepo } from '../sidecar-work/git-helpers.js';

let root: string;
let hub: HubProc;
let pm2: TestPm2;
let ollama: FakeOllama;
let env: NodeJS.ProcessEnv;
let home: string;
let remote: string;
let name: string;
let agentToken: string;

beforeAll(async () => {
  ensureBuilt();
  root = tempDir('pm2-life');
  pm2 = new TestPm2(join(root, 'pm2'));
  hub = await startHubProc(join(root, 'hub'), await freePort());
  ollama = await startFakeOllama();
  const bin = writeHostStubs(join(root, 'bin'));
  env = { PATH: `${bin}:${process.env.PATH}`, PM2_HOME: pm2.home };
  home = join(root, 'agent');
  const seed = join(root, 'seed');
  await initRepo(seed, CALC_REPO_FILES);
  remote = join(root, 'calc.git');
  await git(root, 'clone', '-q', '--bare', seed, remote);
}, 120_000);

afterAll(async () => {
  await pm2?.kill();
  await hub?.proc.stop();
  await ollama?.close();
  if (root) rmSync(root, { recursive: true, force: true });
}, 60_000);

const events = async (id: string) => (await api<{ task: Task; events: TaskEvent[] }>(hub.url, 'GET', `/v1/tasks/${id}`)).body;

describe('an agent host under pm2', () => {
  it('invite -> onboard -> online -> the smoke task completed on that agent, under pm2', async () => {
    const invite = await runCli(['agent', 'invite', '--capabilities', 'python', '--hub', hub.url, '--token', ADMIN]);
    expect(invite.code, show(invite)).toBe(0);
    const command = /npx switchyard onboard --hub (\S+) --join (sy_join_\S+)/.exec(invite.stdout);
    expect(command, invite.stdout).not.toBeNull();
    const [, hubUrl, joinToken] = command!;

    const r = await runCli(['onboard', '--hub', hubUrl!, '--join', joinToken!, '--repo', `calc=${remote}`, '--data', home, '--ollama-url', ollama.url], { env });
    expect(r.code, show(r)).toBe(0);
    for (const [i, step] of ['Preflight', 'Name', 'Register', 'Config', 'Repos', 'pm2', 'Verify'].entries()) expect(r.stdout).toContain(`[${i + 1}/7] ${step}\n`);
    const state = JSON.parse(readFileSync(join(home, 'onboarding.json'), 'utf8')) as OnboardState;
    name = state.name!;
    expect(r.stdout).toMatch(new RegExp(`smoke task ${state.smoke_task} completed on ${name} in`));

    // At the hub: one agent, this one, online, offering what preflight found.
    const agents = (await api<{ agents: Array<{ id: string; state: string; capabilities: string[]; repos: string[]; executors: Array<{ name: string; available: boolean; models: string[] }> }> }>(hub.url, 'GET', '/v1/agents')).body.agents;
    expect(agents.map((a) => a.id)).toEqual([name]);
    const a = agents[0]!;
    expect(a.state).not.toBe('offline');
    expect(a.capabilities.sort()).toEqual(['gpu', 'python']);
    expect(a.repos).toEqual(['calc']);
    expect(a.executors.map((e) => [e.name, e.available])).toEqual([['shell', true], ['ollama', true], ['claude', true]]);
    expect(a.executors[1]!.models).toEqual(['qwen2.5-coder:7b']);

    // The smoke task was delegated to this agent and completed by it.
    const smoke = await events(state.smoke_task!);
    expect(smoke.task).toMatchObject({ status: 'completed', agent: name, generation: 1 });
    expect(smoke.events.find((e) => e.to === 'completed')!.actor).toBe(`agent:${name}`);

    // Under pm2: one app, online.
    const { apps } = await pm2.jlist();
    expect(apps.map((p) => [p.name, p.pm2_env.status])).toEqual([[`switchyard-sidecar-${name}`, 'online']]);

    // The token: in a 0600 file, and nowhere else.
    const tokenFile = join(home, 'agent.token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    agentToken = readFileSync(tokenFile, 'utf8').trim();
    expect(agentToken).toMatch(/^sy_agent_/);
    const pid = apps[0]!.pid;
    const places: Record<string, string> = {
      'onboard output': r.stdout + r.stderr,
      'pm2 jlist (with each app environment)': (await pm2.jlist()).raw,
      'pm2 env': (await pm2.cli(['env', String(apps[0]!.pm_id)])).stdout,
      'pm2 dump (pm2 save)': readFileSync(pm2.dumpFile, 'utf8'),
      'sidecar argv': readFileSync(`/proc/${pid}/cmdline`, 'utf8'),
      'sidecar environment': readFileSync(`/proc/${pid}/environ`, 'utf8'),
      'sidecar config': readFileSync(join(home, 'sidecar.json'), 'utf8'),
      'onboarding state': readFileSync(join(home, 'onboarding.json'), 'utf8'),
    };
    for (const [where, text] of Object.entries(places)) {
      expect(text.includes(agentToken), `the agent token is in ${where}`).toBe(false);
      expect(text.includes(joinToken!) && where !== 'onboard output', `the join token is in ${where}`).toBe(false);
    }
    expect(places['sidecar environment']!.split('\0').filter((kv) => kv.startsWith('SWITCHYARD_'))).toEqual([]);
    expect(places['pm2 dump (pm2 save)']).toContain(`switchyard-sidecar-${name}`);
  }, 120_000);

  it('status: the pm2 app, what the hub sees, the hub summary', async () => {
    const r = await runCli(['status', '--data', home], { env });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`pm2: switchyard-sidecar-${name} online, pid \\d+, up \\d+s, restarts 0`));
    expect(r.stdout).toMatch(/at the hub:[\s\S]*executors:[\s\S]*ollama +available +models: qwen2\.5-coder:7b[\s\S]*gpu 0: NVIDIA H100/);
    expect(r.stdout).toMatch(/hub http:\/\/127\.0\.0\.1:\d+: ok, 1 agent\(s\) connected/);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('healthy');
    const json = JSON.parse((await runCli(['status', '--data', home, '--json'], { env })).stdout) as { healthy: boolean; self: { id: string } };
    expect(json).toMatchObject({ healthy: true, self: { id: name } });
  }, 120_000);

  it('submit from a checkout: follows the iterations live, prints the PR, exits 0; a task that fails exits 1', async () => {
    const checkout = join(root, 'work', 'calc');
    await git(root, 'clone', '-q', remote, checkout);
    ollama.script(...FAIL_THEN_FIX);
    const admin = { SWITCHYARD_HUB: hub.url, SWITCHYARD_ADMIN_TOKEN: ADMIN };
    const ok = await runCli(
      ['submit', 'Add a sum function', '--description', 'Create sum.mjs exporting sum(a, b); test.mjs must pass.', '--executor', 'ollama', '--model', 'qwen2.5-coder:7b', '--verify-file', 'sum.mjs', '--verify-test-command', 'node test.mjs'],
      { cwd: checkout, env: admin },
    );
    expect(ok.code, show(ok)).toBe(0);
    expect(ok.stderr).toMatch(/submitted \w+ "Add a sum function" for repo calc \(executor ollama\)/);
    expect(ok.stderr).toMatch(new RegExp(`queued -> assigned on ${name}[\\s\\S]*assigned -> running on ${name}`));
    expect(ok.stderr).toMatch(/iteration 1: executor done, checks failed[\s\S]*iteration 2: executor done, checks passed/);
    expect(ok.stderr).toMatch(/running -> completed/);
    expect(ok.stdout).toBe(`completed: PR ${PR_URL}\n`);
    const branches = execFileSync('git', ['ls-remote', '--heads', remote, 'task/*'], { encoding: 'utf8' });
    expect(branches).toMatch(/refs\/heads\/task\/\w+-add-a-sum-function/);

    const bad = await runCli(['submit', 'Never done', '--command', 'true', '--verify-file', 'missing.txt', '--max-attempts', '1'], { cwd: checkout, env: admin });
    expect(bad.code, show(bad)).toBe(1);
    expect(bad.stdout).toMatch(/^dead_letter: VERIFICATION_FAILED: /);
    // The title and description written in $EDITOR (here a script that writes them, as a person would).
    const editor = join(root, 'editor.sh');
    writeFileSync(editor, `#!/bin/sh\nprintf 'Refactor the sum\\n\\nMake sum variadic.\\n# a comment\\n' > "$1"\n`);
    chmodSync(editor, 0o755);
    const edited = await runCli(['submit', '--no-follow', '--executor', 'ollama', '--model', 'qwen2.5-coder:7b', '--capability', 'no-host-has-this'], { cwd: checkout, env: { ...admin, EDITOR: editor } });
    expect(edited.code, show(edited)).toBe(0);
    const editedTask = await events(edited.stdout.trim());
    expect(editedTask.task).toMatchObject({ title: 'Refactor the sum', description: 'Make sum variadic.', repo: 'calc', status: 'queued' });
    await api(hub.url, 'POST', `/v1/tasks/${editedTask.task.id}/cancel`, {});
    // Outside a checkout of a known repo: a clear usage error.
    const lost = await runCli(['submit', 'x', '--command', 'true'], { cwd: root, env: admin });
    expect(lost.code).toBe(2);
    expect(lost.stderr).toMatch(/not inside a git checkout|is none of the repos/);
  }, 120_000);

  it('kill -9 the sidecar: pm2 restarts it, it resumes its task under the same lease and completes it once', async () => {
    const before = (await pm2.jlist()).apps[0]!;
    const marker = join(root, 'runs.txt');
    const created = await api<Task>(hub.url, 'POST', '/v1/tasks', { title: 'survive a kill', executor: 'shell', agent: name, command: `sleep 4; echo run >> '${marker}'; echo survived` });
    expect(created.status).toBe(201);
    await waitFor('the command recorded in the sidecar state', () => existsSync(join(home, 'state.json')) && readFileSync(join(home, 'state.json'), 'utf8').includes('"pgid"'));
    process.kill(before.pid, 'SIGKILL');
    const after = await waitFor('pm2 restarted the sidecar', async () => {
      const p = (await pm2.jlist()).apps[0];
      return p && p.pid !== before.pid && p.pid > 0 && p.pm2_env.status === 'online' && p;
    });
    expect(after.pm2_env.restart_time).toBe(before.pm2_env.restart_time + 1);
    const done = await waitFor('the task completed', async () => {
      const t = await events(created.body.id);
      return t.task.status === 'completed' && t;
    }, 60_000);
    expect(done.task.generation).toBe(1);
    expect(done.task.attempts).toBe(1);
    expect(done.events.filter((e) => e.to === 'completed')).toHaveLength(1);
    expect((done.task.result as { output_tail: string }).output_tail).toContain('survived');
    expect(readFileSync(marker, 'utf8')).toBe('run\n');
    expect(readFileSync(join(home, 'logs', 'sidecar.out.log'), 'utf8')).toContain('resuming a task interrupted by a sidecar restart');
  }, 120_000);

  it('teardown: drains a running task, then no pm2 app left, the old token refused (401, close 4001), the agent gone; a rerun is safe', async () => {
    const running = await api<Task>(hub.url, 'POST', '/v1/tasks', { title: 'finish while draining', executor: 'shell', agent: name, command: 'sleep 2; echo drained' });
    await waitFor('the task running', async () => (await events(running.body.id)).task.status === 'running');
    const r = await runCli(['teardown', '--data', home], { env });
    expect(r.code, show(r)).toBe(0);
    // The sidecar finished it before it stopped, and before the agent was removed.
    const finished = await events(running.body.id);
    expect(finished.task.status).toBe('completed');
    expect(finished.events.find((e) => e.to === 'completed')!.actor).toBe(`agent:${name}`);
    expect(r.stdout).toMatch(/\[1\/4\] Drain[\s\S]*stopped[\s\S]*\[2\/4\] pm2[\s\S]*deleted[\s\S]*\[3\/4\] Deregister[\s\S]*removed at[\s\S]*\[4\/4\] Files/);
    expect((await pm2.jlist()).apps).toEqual([]);
    expect(readFileSync(pm2.dumpFile, 'utf8')).not.toContain(`switchyard-sidecar-${name}`);
    const self = await fetch(`${hub.url}/v1/self`, { headers: { authorization: `Bearer ${agentToken}` } });
    expect(self.status).toBe(401);
    const ws = await RawClient.open(`${hub.url.replace(/^http/, 'ws')}/v1/agent`);
    ws.send(helloMessage(name, agentToken));
    expect((await ws.closed).code).toBe(4001);
    expect((await api(hub.url, 'GET', `/v1/agents/${name}`)).status).toBe(404);
    expect(existsSync(home)).toBe(false);

    const again = await runCli(['teardown', '--data', home], { env });
    expect(again.code, show(again)).toBe(0);
    expect(again.stdout).toMatch(/nothing to tear down/);
  }, 120_000);

  it('the hub under pm2: ecosystem.config.cjs loads with require() and its hub app serves', async () => {
    const eco = createRequire(import.meta.url)(join(ROOT, 'ecosystem.config.cjs')) as { apps: Array<{ name: string; script: string; args: string }> };
    expect(eco.apps.map((a) => a.name)).toEqual(['switchyard-hub', 'switchyard-sidecar']);
    for (const a of eco.apps) expect(existsSync(a.script), a.script).toBe(true);
    const port = await freePort();
    const data = join(root, 'pm2-hub');
    const started = await pm2.cli(['start', join(ROOT, 'ecosystem.config.cjs'), '--only', 'switchyard-hub'], {
      SWITCHYARD_DATA: data,
      SWITCHYARD_PORT: String(port),
    });
    expect(started.code, started.stderr).toBe(0);
    try {
      const health = await waitFor('the pm2 hub to answer', async () => {
        const res = await fetch(`http://127.0.0.1:${port}/v1/health`).catch(() => null);
        return res?.ok && ((await res.json()) as { status: string });
      });
      expect(health.status).toBe('ok');
      expect(existsSync(join(data, 'tasks'))).toBe(true);
      const { apps } = await pm2.jlist();
      expect(apps.find((p) => p.name === 'switchyard-hub')?.pm2_env.status).toBe('online');
    } finally {
      await pm2.cli(['delete', 'switchyard-hub']);
    }
  }, 120_000);
});
