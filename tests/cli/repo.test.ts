/**
 * `switchyard repo` as a user runs it: the compiled CLI (dist/) as a child process against a real
 * hub on 127.0.0.1 in this process. Build first (`npm run build --silent`).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, show } from '../support/cli-run.js';
import { ADMIN_TOKEN, startInprocHub, type InprocHub } from '../support/hub-inproc.js';
import { CLI } from '../support/processes.js';

let h: InprocHub;
let cwd: string;
const at = () => ['--hub', h.url, '--token', ADMIN_TOKEN];
const repo = (...args: string[]) => runCli(['repo', ...args, ...at()], { cwd });

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build --silent first`);
  h = await startInprocHub({ listen: true });
  cwd = await mkdtemp(join(tmpdir(), 'sy-cli-repo-'));
});

afterAll(async () => {
  await h?.close();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe('switchyard repo', () => {
  it('--help for the group and after a command prints the usage, without calling a hub', async () => {
    for (const args of [['repo', '--help'], ['repo', 'add', '--help'], ['repo']]) {
      const r = await runCli([...args, '--hub', 'http://127.0.0.1:1'], { cwd });
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toMatch(/Usage: switchyard repo <command>[\s\S]*add NAME --url URL[\s\S]*move NAME --priority N[\s\S]*remove NAME/);
    }
  });

  it('add, list, show, move, pause, resume, remove against a real hub', async () => {
    let r = await repo('add', 'web', '--url', 'https://example.com/web.git', '--priority', '10', '--test-command', 'npm test');
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain('added web: active, priority 10, https://example.com/web.git @ main, tests: npm test');
    expect((await repo('add', 'api', '--url', 'https://example.com/api.git', '--branch', 'trunk')).code).toBe(0);

    r = await repo('list');
    expect(r.stdout.split('\n')[0]).toMatch(/^NAME\s+PRIORITY\s+STATUS/);
    expect(r.stdout.indexOf('web')).toBeLessThan(r.stdout.indexOf('api'));

    r = await repo('move', 'api', '--priority', '20');
    expect(r.stdout).toContain('moved: api: active, priority 20');
    const listed = JSON.parse((await repo('list', '--json')).stdout) as { repos: Array<{ name: string }> };
    expect(listed.repos.map((x) => x.name)).toEqual(['api', 'web']);

    r = await repo('pause', 'web', '--reason', 'release freeze');
    expect(r.stdout).toContain('paused (its queued tasks wait): web: paused (release freeze)');
    expect(h.hub.services.repos.holdOf('web')).toBe('repo web is paused: release freeze');
    expect((await repo('resume', 'web')).stdout).toContain('resumed: web: active');
    expect((await repo('show', 'api')).stdout).toContain('api: active, priority 20, https://example.com/api.git @ trunk');

    expect((await repo('remove', 'api')).stdout).toContain('removed api');
    r = await repo('show', 'api');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('REPO_NOT_FOUND');
    r = await repo('add', 'web', '--url', 'x');
    expect(r.stderr).toContain('REPO_EXISTS');
  }, 60_000);

  it('refuses a missing NAME, a missing --url and a bad --priority before calling the hub', async () => {
    expect((await repo('show')).stderr).toContain('needs a NAME');
    expect((await repo('add', 'x')).stderr).toContain('needs --url URL');
    expect((await repo('move', 'web', '--priority', 'high')).stderr).toContain('--priority must be a whole number');
    expect((await repo('frob', 'web')).stderr).toContain("unknown command 'repo frob'");
  });
});
