/**
 * `switchyard onboard` given bad input, as a user runs it (the compiled CLI, a child process)
 * against a real hub: an expired, reused or revoked join token, a wrong hub URL, an unreachable
 * repo, a name already taken. Each is a clear error that says what to do, and nothing is
 * half-registered: no agent at the hub, no token on the host, no pm2 daemon started. Also the
 * help of every new command, and status / teardown on a host that was never onboarded.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOllama, type FakeOllama } from '../fixtures/fake-ollama.js';
import { runCli, show, type CliRun } from '../support/cli-run.js';
import { writeHostStubs } from '../support/host-stubs.js';
import { startInprocHub, type InprocHub } from '../support/hub-inproc.js';
import { ensureBuilt, freePort, tempDir } from '../support/processes.js';
import { initRepo } from '../sidecar-work/git-helpers.js';

let h: InprocHub;
let root: string;
let bin: string;
let closedOllama: string;

beforeAll(async () => {
  ensureBuilt();
  h = await startInprocHub({ listen: true });
  root = tempDir('onboard-errors');
  bin = writeHostStubs(join(root, 'bin'), { gpu: 'missing', gh: 'missing', claude: 'missing' });
  closedOllama = `http://127.0.0.1:${await freePort()}`;
});

afterAll(async () => {
  await h?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

let n = 0;
/** A fresh host: its own data folder and PM2_HOME. */
function host() {
  n++;
  return { data: join(root, `host-${n}`), pm2: join(root, `pm2-${n}`) };
}

function onboard(args: string[], where = host()): Promise<CliRun & { where: typeof where }> {
  return runCli(['onboard', '--data', where.data, '--ollama-url', closedOllama, ...args], {
    env: { PATH: `${bin}:${process.env.PATH}`, PM2_HOME: where.pm2 },
  }).then((r) => ({ ...r, where }));
}

async function invite(body: Record<string, unknown> = {}): Promise<{ token: string; id: string }> {
  const res = await h.hub.app.inject({ method: 'POST', url: '/v1/join-tokens', headers: h.auth(), payload: body });
  const b = res.json() as { token: string; join: { id: string } };
  return { token: b.token, id: b.join.id };
}

async function agentIds(): Promise<string[]> {
  const res = await h.hub.app.inject({ method: 'GET', url: '/v1/agents', headers: h.auth() });
  return (res.json() as { agents: Array<{ id: string }> }).agents.map((a) => a.id).sort();
}

/** Exit 1, the code and advice on stderr, nothing registered or written, no pm2 daemon. */
async function expectRefused(r: CliRun & { where: { data: string; pm2: string } }, code: string, advice: RegExp, agentsBefore: string[]): Promise<void> {
  expect(r.code, show(r)).toBe(1);
  expect(r.stderr).toContain(`switchyard: ${code}: `);
  expect(r.stderr).toMatch(advice);
  expect(await agentIds()).toEqual(agentsBefore);
  expect(existsSync(join(r.where.data, 'agent.token'))).toBe(false);
  expect(existsSync(join(r.where.data, 'sidecar.json'))).toBe(false);
  expect(existsSync(join(r.where.pm2, 'rpc.sock')), 'no pm2 daemon was started').toBe(false);
}

describe('onboard refuses bad input, registering nothing', () => {
  it('an expired join token', async () => {
    const before = await agentIds();
    const { token } = await invite({ ttl_ms: 1000 });
    await new Promise((r) => setTimeout(r, 1100));
    const r = await onboard(['--hub', h.url, '--join', token]);
    await expectRefused(r, 'JOIN_TOKEN_EXPIRED', /expired at .*ask the hub's admin for a new one \(switchyard agent invite/, before);
    expect(r.stdout).toMatch(/\[1\/7\] Preflight[\s\S]*✗ Preflight failed: JOIN_TOKEN_EXPIRED/);
  });

  it('a join token another host already used', async () => {
    const { token } = await invite();
    await h.hub.app.inject({ method: 'POST', url: '/v1/join', headers: { authorization: `Bearer ${token}` }, payload: { name: 'first-host', exchange_key: 'q'.repeat(40) } });
    const before = await agentIds();
    const r = await onboard(['--hub', h.url, '--join', token]);
    await expectRefused(r, 'JOIN_TOKEN_USED', /already registered agent first-host: a join token registers one agent; ask the hub's admin for a new one/, before);
  });

  it('a revoked join token', async () => {
    const { token, id } = await invite();
    await h.hub.app.inject({ method: 'DELETE', url: `/v1/join-tokens/${id}`, headers: h.auth() });
    const before = await agentIds();
    const r = await onboard(['--hub', h.url, '--join', token]);
    await expectRefused(r, 'JOIN_TOKEN_REVOKED', /revoked by the hub's admin: ask them for a new one/, before);
  });

  it('a wrong hub URL: nothing listening, something that is not a hub, not a URL', async () => {
    const { token } = await invite();
    const before = await agentIds();
    const closed = await onboard(['--hub', `http://127.0.0.1:${await freePort()}`, '--join', token]);
    await expectRefused(closed, 'ONBOARD_HUB_UNREACHABLE', /no hub answers at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): check --hub/, before);
    const notAHub: FakeOllama = await startFakeOllama();
    try {
      const other = await onboard(['--hub', notAHub.url, '--join', token]);
      await expectRefused(other, 'ONBOARD_HUB_UNREACHABLE', /is not a Switchyard hub.*: check --hub/, before);
    } finally {
      await notAHub.close();
    }
    const garbage = await onboard(['--hub', 'hub.lan:7070', '--join', token]);
    await expectRefused(garbage, 'VALIDATION_FAILED', /--hub 'hub\.lan:7070' must be an http\(s\) URL/, before);
    // The token was never spent: it still onboards.
    const list = (await h.hub.app.inject({ method: 'GET', url: '/v1/join-tokens', headers: h.auth() })).json() as { joins: Array<{ status: string }> };
    expect(list.joins.at(-1)!.status).toBe('pending');
  });

  it('an unreachable repo is named before anything is registered; the invitation stays usable', async () => {
    const { token, id } = await invite();
    const good = join(root, 'good-repo');
    await initRepo(good);
    const before = await agentIds();
    const r = await onboard(['--hub', h.url, '--join', token, '--repo', `good=${good}`, '--repo', `api=${join(root, 'nowhere', 'api.git')}`]);
    await expectRefused(r, 'ONBOARD_REPO_UNREACHABLE', /repo api: cannot reach .*nowhere\/api\.git .*then run the command again/, before);
    expect(r.stderr).not.toMatch(/repo good/);
    const list = (await h.hub.app.inject({ method: 'GET', url: '/v1/join-tokens', headers: h.auth() })).json() as { joins: Array<{ id: string; status: string }> };
    expect(list.joins.find((j) => j.id === id)!.status).toBe('pending');
  });

  it('a name already taken: by --name, and by an invitation for that name', async () => {
    await h.addAgent('taken-name');
    const before = await agentIds();
    const { token } = await invite();
    const r = await onboard(['--hub', h.url, '--join', token, '--name', 'taken-name']);
    await expectRefused(r, 'AGENT_EXISTS', /an agent named taken-name is already registered .*pick another with --name, or leave --name out/, before);
    const inv = await runCli(['agent', 'invite', '--name', 'taken-name', '--hub', h.url, '--token', h.adminToken]);
    expect(inv.code, show(inv)).toBe(1);
    expect(inv.stderr).toMatch(/AGENT_EXISTS: an agent named taken-name is already registered: pick another --name/);
  });

  it('missing flags and bad values say what to pass', async () => {
    const none = await onboard([]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/needs --hub URL and --join TOKEN: run the command that switchyard agent invite printed/);
    const repo = await onboard(['--hub', h.url, '--join', 'x', '--repo', 'no-equals-sign']);
    expect(repo.stderr).toMatch(/--repo 'no-equals-sign' must be name=url/);
    const ttl = await runCli(['agent', 'invite', '--ttl', 'forever', '--hub', h.url, '--token', h.adminToken]);
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toMatch(/--ttl 'forever' is not a duration: use 90s, 30m, 1h or 7d/);
  });
});

describe('the lifecycle commands', () => {
  it('each has --help', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['onboard', '--help'], /^Usage: switchyard onboard --hub URL --join TOKEN[\s\S]*1 Preflight[\s\S]*7 Verify[\s\S]*--redetect/],
      [['status', '--help'], /^Usage: switchyard status[\s\S]*--json/],
      [['submit', '--help'], /^Usage: switchyard submit \[TITLE\][\s\S]*Exits 0[\s\S]*--verify-tests/],
      [['teardown', '--help'], /^Usage: switchyard teardown \[--keep-data\][\s\S]*Drain[\s\S]*Deregister/],
      [['agent', 'invite', '--help'], /^Usage: switchyard agent invite[\s\S]*--ttl T/],
      [['--help'], /onboard {3}Make this host an agent[\s\S]*teardown {2}Remove/],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(args)));
    runs.forEach((r, i) => {
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toMatch(cases[i]![1]);
    });
    const script = await runCli(['--help'], { script: join(import.meta.dirname, '../../dist/scripts/onboard.js') });
    expect(script.stdout).toMatch(/^Usage: switchyard onboard/);
  });

  it('status and teardown on a host that was never onboarded', async () => {
    const where = host();
    const env = { PM2_HOME: where.pm2 };
    const status = await runCli(['status', '--data', where.data], { env });
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/ONBOARD_NOT_ONBOARDED: no onboarded sidecar in .*: onboard this host with switchyard onboard --hub URL --join TOKEN/);
    const down = await runCli(['teardown', '--data', where.data], { env });
    expect(down.code, show(down)).toBe(0);
    expect(down.stdout).toMatch(/nothing to tear down/);
  });
});
