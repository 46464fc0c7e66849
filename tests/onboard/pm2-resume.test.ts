/**
 * Onboarding killed at each step in turn, then run again, with a real hub process and a real pm2
 * (its own PM2_HOME, killed at the end). The kill is a real SIGKILL of the onboard process, at
 * the worst moment of each step: its effect done (the hub registered the agent, the config
 * written, the clone made, pm2 started the app, the smoke task completed), its outcome not yet
 * recorded (SWITCHYARD_ONBOARD_KILL_AFTER=<step>, a test hook of cli/commands/onboard.ts).
 *
 * Run k is killed in step k, having redone step k-1 (which run k-1 was killed in); the last run
 * completes. Throughout: at most one agent at the hub, at most one pm2 app. At the end: exactly
 * one of each, online; and a run after success only verifies.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEPS, type OnboardState } from '../../cli/onboard/state.js';
import { runCli, show } from '../support/cli-run.js';
import { writeHostStubs } from '../support/host-stubs.js';
import { TestPm2 } from '../support/pm2-home.js';
import { api, ensureBuilt, freePort, startHubProc, tempDir, type HubProc } from '../support/processes.js';
import { git, initRepo } from '../sidecar-work/git-helpers.js';

let root: string;
let hub: HubProc;
let pm2: TestPm2;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  ensureBuilt();
  root = tempDir('pm2-resume');
  pm2 = new TestPm2(join(root, 'pm2'));
  hub = await startHubProc(join(root, 'hub'), await freePort());
  // A lean host: no Ollama, Claude Code, gh or GPU, so that preflight is quick.
  const bin = writeHostStubs(join(root, 'bin'), { gpu: 'missing', gh: 'missing', claude: 'missing' });
  env = { PATH: `${bin}:${process.env.PATH}`, PM2_HOME: pm2.home };
  await initRepo(join(root, 'seed'));
  await git(root, 'clone', '-q', '--bare', join(root, 'seed'), join(root, 'app.git'));
}, 120_000);

afterAll(async () => {
  await pm2?.kill();
  await hub?.proc.stop();
  if (root) rmSync(root, { recursive: true, force: true });
}, 60_000);

async function agents(): Promise<Array<{ id: string; state: string }>> {
  return (await api<{ agents: Array<{ id: string; state: string }> }>(hub.url, 'GET', '/v1/agents')).body.agents;
}

describe('onboarding resumes after kill -9 at any step', () => {
  it('killed in each step in turn, then run again: completes with one agent registered and one pm2 app', async () => {
    const invite = await api<{ token: string; join: { id: string } }>(hub.url, 'POST', '/v1/join-tokens', {});
    const home = join(root, 'agent');
    const args = ['onboard', '--hub', hub.url, '--join', invite.body.token, '--repo', `app=${join(root, 'app.git')}`, '--data', home, '--ollama-url', `http://127.0.0.1:${await freePort()}`];
    const resumedAt: string[] = [];
    for (const step of STEPS) {
      const r = await runCli(args, { env: { ...env, SWITCHYARD_ONBOARD_KILL_AFTER: step } });
      expect(r.signal, `killed in ${step}: ${show(r)}`).toBe('SIGKILL');
      const firstRun = /\[(\d)\/7\] (\w+)\n/.exec(r.stdout);
      resumedAt.push(firstRun?.[2] ?? '?');
      expect((await agents()).length, `agents after the kill in ${step}`).toBeLessThanOrEqual(1);
      expect((await pm2.jlist()).apps.length, `pm2 apps after the kill in ${step}`).toBeLessThanOrEqual(1);
    }
    // Each run began with the step the previous one was killed in (the first, with preflight).
    expect(resumedAt).toEqual(['Preflight', 'Preflight', 'Name', 'Register', 'Config', 'Repos', 'pm2']);

    const last = await runCli(args, { env });
    expect(last.code, show(last)).toBe(0);
    expect(last.stdout).toMatch(/\[1\/7\] Preflight: done [\s\S]*\[6\/7\] pm2: done [\s\S]*\[7\/7\] Verify\n[\s\S]*completed on/);
    const state = JSON.parse(readFileSync(join(home, 'onboarding.json'), 'utf8')) as OnboardState;
    const list = await agents();
    expect(list.map((a) => a.id)).toEqual([state.name]);
    expect(list[0]!.state).not.toBe('offline');
    const { apps } = await pm2.jlist();
    expect(apps.map((a) => [a.name, a.pm2_env.status])).toEqual([[`switchyard-sidecar-${state.name}`, 'online']]);
    // Killed after the exchange, the rerun repeated it: the same agent, a token reissued once.
    const joins = (await api<{ joins: Array<{ id: string; status: string; agent_id: string; reissued: number }> }>(hub.url, 'GET', '/v1/join-tokens')).body.joins;
    expect(joins).toEqual([expect.objectContaining({ id: invite.body.join.id, status: 'used', agent_id: state.name, reissued: 1 })]);

    // Once onboarded, running it again only verifies.
    const again = await runCli(args, { env });
    expect(again.code, show(again)).toBe(0);
    expect(again.stdout).toMatch(/was onboarded at .*; verifying it again/);
    for (const [i, step] of ['Preflight', 'Name', 'Register', 'Config', 'Repos', 'pm2'].entries()) expect(again.stdout).toMatch(new RegExp(`\\[${i + 1}/7\\] ${step}: done `));
    expect(again.stdout).toMatch(/\[7\/7\] Verify\n[\s\S]*smoke task \w+ completed on/);
    expect((await agents()).map((a) => a.id)).toEqual([state.name]);
    expect((await pm2.jlist()).apps).toHaveLength(1);

    // Claude Code installed afterwards: --redetect finds it, rewrites the config, restarts the
    // same pm2 app, verifies; the hub then routes claude tasks here.
    const withClaude = writeHostStubs(join(root, 'bin-claude'), { gpu: 'missing', gh: 'missing', claude: 'logged-in' });
    const redetect = await runCli([...args.filter((a) => a !== invite.body.token && a !== '--join'), '--redetect'], { env: { ...env, PATH: `${withClaude}:${process.env.PATH}` } });
    expect(redetect.code, show(redetect)).toBe(0);
    expect(redetect.stdout).toMatch(/✓ claude: Claude Code 1\.0\.99 \(Claude Code\), logged in[\s\S]*\[3\/7\] Register: done[\s\S]*pm2 app \S+ existed: replaced/);
    const config = JSON.parse(readFileSync(join(home, 'sidecar.json'), 'utf8')) as { executors: string[] };
    expect(config.executors).toEqual(['shell', 'claude']);
    const agent = (await api<{ executors: Array<{ name: string; available: boolean }> }>(hub.url, 'GET', `/v1/agents/${state.name}`)).body;
    expect(agent.executors.map((e) => [e.name, e.available])).toEqual([['shell', true], ['claude', true]]);
    const after = await pm2.jlist();
    expect(after.apps).toHaveLength(1);
    expect((await agents()).map((a) => a.id)).toEqual([state.name]);

    // teardown --keep-data after a reboot without `pm2 startup` (the daemon gone, the app only in
    // pm2's saved list): the saved app is brought back and removed, so it does not return at boot.
    await pm2.kill();
    expect(readFileSync(pm2.dumpFile, 'utf8')).toContain(`switchyard-sidecar-${state.name}`);
    const down = await runCli(['teardown', '--keep-data', '--data', home], { env });
    expect(down.code, show(down)).toBe(0);
    expect(down.stdout).toMatch(/pm2 was not running: restored its 1 saved app/);
    expect(readFileSync(pm2.dumpFile, 'utf8')).not.toContain(`switchyard-sidecar-${state.name}`);
    expect(await agents()).toEqual([]);
    expect((await pm2.jlist()).apps).toEqual([]);
    expect(['agent.token', 'onboarding.json'].filter((f) => existsSync(join(home, f)))).toEqual([]);
    expect(['sidecar.json', 'logs', 'repos/app'].filter((f) => existsSync(join(home, f)))).toEqual(['sidecar.json', 'logs', 'repos/app']);
    expect((await runCli(['teardown', '--keep-data', '--data', home], { env })).stdout).toMatch(/nothing to tear down/);
  }, 240_000);
});
