/**
 * The hub's node flags (hub/node-flags.ts: a 64 MiB young generation, so that objects which live
 * until their group commit's fsync die young instead of being promoted; docs/benchmarks.md) are a
 * property of the node process, not settable from inside it, so the launchers name them: the pm2
 * app (ecosystem.config.cjs), `npm start` and bench:queue (the store as
 * it runs inside the hub). One list, checked here; and a hub started without them says so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HUB_NODE_FLAGS, missingNodeFlags } from '../../hub/node-flags.js';

const root = join(import.meta.dirname, '..', '..');
const ecosystem = createRequire(import.meta.url)(join(root, 'ecosystem.config.cjs')) as { apps: Array<{ name: string; node_args?: string[] }> };
const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const CLI = join(root, 'dist', 'cli', 'switchyard.js');

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("the hub's node flags", () => {
  it('are the same list for the pm2 hub app, npm start and bench:queue', () => {
    expect(HUB_NODE_FLAGS).toContain('--max-semi-space-size=64');
    expect(ecosystem.apps.find((a) => a.name === 'switchyard-hub')?.node_args).toEqual([...HUB_NODE_FLAGS]);
    for (const name of ['start', 'bench:queue']) {
      for (const flag of HUB_NODE_FLAGS) expect(scripts[name], name).toMatch(new RegExp(`node (--\\S+ )*${flag} (--\\S+ )*dist/`));
    }
  });

  it('are found on the command line or in NODE_OPTIONS, whatever the value given', () => {
    expect(missingNodeFlags([], '')).toEqual([...HUB_NODE_FLAGS]);
    expect(missingNodeFlags(['--max-semi-space-size=64'], '')).toEqual([]);
    expect(missingNodeFlags([], '--inspect --max-semi-space-size=128')).toEqual([]);
    expect(missingNodeFlags(['--max-old-space-size=64'], '')).toEqual([...HUB_NODE_FLAGS]);
  });

  it('are accepted by this node and give it a larger young generation', () => {
    // Allocates objects that live a little while (as a group commit's do), then reports the young generation's size.
    const probe = "const keep=[];for(let i=0;i<2e6;i++){keep.push({i,s:'x'+i});if(keep.length>50000)keep.length=0}console.log(require('v8').getHeapSpaceStatistics().find(s=>s.space_name==='new_space').space_size)";
    const young = (args: string[]) => {
      const r = spawnSync(process.execPath, [...args, '-e', probe], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      return Number(r.stdout.trim());
    };
    expect(young([...HUB_NODE_FLAGS])).toBeGreaterThan(young([]));
  });

  it('a hub started without them says so in its log, with the command that adds them; with them, it does not', async () => {
    const run = async (nodeOptions: string): Promise<string> => {
      const dir = mkdtempSync(join(tmpdir(), 'sy-flags-'));
      dirs.push(dir);
      const child = spawn(process.execPath, [CLI, 'hub', '--data', join(dir, 'hub'), '--port', '0'], {
        env: { PATH: process.env.PATH ?? '', HOME: dir, SWITCHYARD_LOG_LEVEL: 'info', NODE_OPTIONS: nodeOptions },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (c: Buffer) => (text += c.toString()));
      child.stderr.on('data', (c: Buffer) => (text += c.toString()));
      const deadline = Date.now() + 30_000;
      while (!text.includes('hub listening on') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      // The hint comes right after the listening line.
      await new Promise((r) => setTimeout(r, 200));
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
      expect(text).toContain('hub listening on');
      return text;
    };
    const without = await run('');
    expect(without).toContain('missing_node_flags');
    expect(without).toContain("NODE_OPTIONS='--max-semi-space-size=64' switchyard hub");
    const withFlags = await run(HUB_NODE_FLAGS.join(' '));
    expect(withFlags).not.toContain('missing_node_flags');
  });
});
