/** `switchyard routing` on the built CLI against a real hub (docs/routing.md). */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, show } from '../support/cli-run.js';
import { ADMIN_TOKEN, startInprocHub, type InprocHub } from '../support/hub-inproc.js';
import { CLI } from '../support/processes.js';

let h: InprocHub;
let cwd: string;
const routing = (...args: string[]) => runCli(['routing', ...args, '--hub', h.url, '--token', ADMIN_TOKEN], { cwd });

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build --silent first`);
  h = await startInprocHub({ listen: true });
  cwd = await mkdtemp(join(tmpdir(), 'sy-cli-routing-'));
});

afterAll(async () => {
  await h?.close();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe('switchyard routing', () => {
  it('--help prints the usage without calling a hub', async () => {
    const r = await runCli(['routing', '--help', '--hub', 'http://127.0.0.1:1'], { cwd });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/Usage: switchyard routing[\s\S]*set FILE[\s\S]*reset/);
  });

  it('shows the default, sets one from a file, refuses a bad one with its field, and resets', async () => {
    let r = await routing();
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^routing on \(policy from default\)/);
    expect(r.stdout).toMatch(/complex\s+claude → ollama:qwen2\.5-coder:32b\s+120 s\s+-/);

    const file = join(cwd, 'policy.json');
    await writeFile(file, JSON.stringify({ tiers: { trivial: { candidates: ['ollama:llama3.1:8b'], wait_ms: 5000, next: 'standard' }, standard: { candidates: ['ollama'] }, complex: { candidates: ['claude:opus'] } } }));
    r = await routing('set', file);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/policy from api/);
    expect(r.stdout).toMatch(/trivial\s+ollama:llama3\.1:8b\s+5 s\s+standard/);
    expect(h.hub.services.routing.view({ kind: 'admin', actor: 'admin' } as never).policy.tiers.complex.candidates).toEqual(['claude:opus']);

    await writeFile(file, JSON.stringify({ tiers: { trivial: { candidates: ['gpt-4'] }, standard: { candidates: ['ollama'] }, complex: { candidates: ['claude'] } } }));
    r = await routing('set', file);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/VALIDATION_FAILED: body.tiers.trivial.candidates\[0\]: must match pattern/);
    await writeFile(file, '{not json');
    r = await routing('set', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read .* as JSON/);

    r = await routing('reset');
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/policy from default/);
  });
});
