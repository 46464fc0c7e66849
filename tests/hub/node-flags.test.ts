/**
 * The hub's node flags (a 64 MiB young generation: objects that live until their group commit's
 * fsync then die young instead of being promoted; docs/benchmarks.md) are a property of the node
 * process, not settable from inside it, so every way the hub is started names them: the pm2 app
 * (ecosystem.config.cjs, the one the bench reads), the `switchyard` bin's shebang (`npx switchyard
 * hub`), `npm start`, and bench:queue (the store as it runs inside the hub). One list, checked here.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const ecosystem = createRequire(import.meta.url)(join(root, 'ecosystem.config.cjs')) as { apps: Array<{ name: string; node_args?: string[] }> };
const flags = ecosystem.apps.find((a) => a.name === 'switchyard-hub')?.node_args ?? [];
const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

describe("the hub's node flags", () => {
  it('are set for the pm2 hub app', () => {
    expect(flags).toContain('--max-semi-space-size=64');
  });

  it('are on the switchyard command line (its shebang), npm start and bench:queue', () => {
    const shebang = readFileSync(join(root, 'cli', 'switchyard.ts'), 'utf8').split('\n')[0]!;
    expect(shebang).toBe(`#!/usr/bin/env -S node ${flags.join(' ')}`);
    for (const name of ['start', 'bench:queue']) {
      for (const flag of flags) expect(scripts[name], name).toMatch(new RegExp(`node (--\\S+ )*${flag} (--\\S+ )*dist/`));
    }
  });

  it('are accepted by this node, through the shebang\'s env -S too, and give it a larger young generation', () => {
    // Allocates objects that live a little while (as a group commit's do), then reports the young generation's size.
    const probe = "const keep=[];for(let i=0;i<2e6;i++){keep.push({i,s:'x'+i});if(keep.length>50000)keep.length=0}console.log(process.execArgv.join(' '),require('v8').getHeapSpaceStatistics().find(s=>s.space_name==='new_space').space_size)";
    const run = (args: string[]) => {
      const r = spawnSync('/usr/bin/env', ['-S', `node ${args.join(' ')} -e "${probe}"`], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const parts = r.stdout.trim().split(' ');
      return { argv: parts.slice(0, -1), young: Number(parts.at(-1)) };
    };
    const flagged = run(flags);
    const plain = run([]);
    for (const flag of flags) expect(flagged.argv).toContain(flag);
    expect(flagged.young).toBeGreaterThan(plain.young);
  });
});
