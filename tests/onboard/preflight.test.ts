/**
 * Onboarding's preflight (cli/onboard/preflight.ts) against stand-ins that speak the real formats:
 * a fake Ollama HTTP server (tests/fixtures/fake-ollama.ts), stub `nvidia-smi`, `gh` and `claude`
 * on PATH (tests/support/host-stubs.ts), the real Claude Code CLI of node_modules (installed, not
 * logged in here), and a real hub. Each finding must say what it means for routing and how to fix
 * it; what preflight found becomes the sidecar's executors, models and capabilities.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join, resolve } from 'node:path';
import { HostHubClient } from '../../cli/onboard/hub-api.js';
import { nodeSupported, preflight, type PreflightOptions } from '../../cli/onboard/preflight.js';
import type { Finding } from '../../cli/onboard/state.js';
import { SwitchyardError } from '../../shared/errors.js';
import { startFakeOllama, type FakeOllama } from '../fixtures/fake-ollama.js';
import { writeHostStubs } from '../support/host-stubs.js';
import { startInprocHub, type InprocHub } from '../support/hub-inproc.js';
import { freePort, tempDir } from '../support/processes.js';
import { initRepo } from '../sidecar-work/git-helpers.js';

let h: InprocHub;
let ollama: FakeOllama;
let root: string;
const PATH = process.env.PATH;

beforeAll(async () => {
  h = await startInprocHub({ listen: true });
  ollama = await startFakeOllama();
  ollama.models = [{ name: 'qwen2.5-coder:7b' }, { name: 'llama3.2:3b' }];
  root = tempDir('preflight');
});

afterAll(async () => {
  process.env.PATH = PATH;
  await ollama?.close();
  await h?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function joinToken(body: Record<string, unknown> = {}): Promise<string> {
  const res = await h.hub.app.inject({ method: 'POST', url: '/v1/join-tokens', headers: h.auth(), payload: body });
  return (res.json() as { token: string }).token;
}

/** Preflight with the stubs of `bin` first on PATH. */
async function run(bin: string, over: Partial<PreflightOptions> = {}) {
  process.env.PATH = `${bin}:${PATH}`;
  try {
    return await preflight({
      home: join(root, 'home'),
      hub: new HostHubClient(h.url),
      joinToken: await joinToken({ capabilities: ['python'] }),
      exchangeKey: null,
      candidateNames: ['so-much-for-subtlety'],
      repos: [],
      ollamaUrl: ollama.url,
      claudeBinary: 'claude',
      ...over,
    });
  } finally {
    process.env.PATH = PATH;
  }
}

const finding = (fs: Finding[], check: string) => {
  const f = fs.find((x) => x.check === check);
  expect(f, `a finding for ${check}: ${JSON.stringify(fs)}`).toBeDefined();
  return f!;
};

describe('preflight', () => {
  it('a host with everything: Ollama generates, Claude and gh are logged in, two GPUs; the plan offers all of it', async () => {
    const bin = writeHostStubs(join(root, 'all'));
    const before = ollama.requests.length;
    const r = await run(bin);
    expect(r.plan).toEqual({
      executors: ['shell', 'ollama', 'claude'],
      ollama_url: ollama.url,
      ollama_models: ['qwen2.5-coder:7b', 'llama3.2:3b'],
      claude_binary: 'claude',
      gpus: 2,
      capabilities: ['python', 'gpu'],
    });
    for (const check of ['node', 'git', 'disk', 'hub', 'ollama', 'claude', 'gh', 'gpu']) expect(finding(r.findings, check).level).toBe('ok');
    expect(finding(r.findings, 'hub').message).toMatch(/protocol 1; join token \w+ for any name, capabilities python/);
    expect(finding(r.findings, 'ollama').message).toMatch(/2 model\(s\) \(qwen2\.5-coder:7b, llama3\.2:3b\); qwen2\.5-coder:7b generated a reply .*ollama tasks for these models can be routed here/);
    // A real generation, not only the model list.
    expect(ollama.requests.slice(before).map((q) => `${q.method} ${q.path}`)).toEqual(expect.arrayContaining(['GET /api/tags', 'POST /api/generate']));
    expect(finding(r.findings, 'claude').message).toMatch(/^Claude Code 1\.0\.99 \(Claude Code\), logged in \(claude\.ai\): claude tasks can be routed here/);
    expect(finding(r.findings, 'gh').message).toMatch(/^gh version 2\.63\.2 \(2024-12-05\), logged in: passing work is opened as a pull request/);
    expect(finding(r.findings, 'gpu').message).toMatch(/^2 GPU\(s\): NVIDIA H100 80GB HBM3 80 GiB, NVIDIA H100 80GB HBM3 80 GiB: capability gpu offered/);
  });

  it('a bare host: no Ollama, no Claude Code, no gh, no nvidia-smi; each says what it means and how to fix it', async () => {
    const bin = writeHostStubs(join(root, 'bare'), { gpu: 'missing', gh: 'missing', claude: 'missing' });
    const closed = `http://127.0.0.1:${await freePort()}`;
    const r = await run(bin, { ollamaUrl: closed, gh: join(bin, 'gh'), nvidiaSmi: join(bin, 'nvidia-smi'), claudeBinary: join(bin, 'claude') });
    expect(r.plan.executors).toEqual(['shell']);
    expect(r.plan.capabilities).toEqual(['python']);
    expect(r.plan.gpus).toBe(0);
    expect(finding(r.findings, 'ollama')).toMatchObject({ level: 'warn' });
    expect(finding(r.findings, 'ollama').message).toMatch(new RegExp(`^no Ollama at ${closed} \\(.*ECONNREFUSED.*\\): ollama tasks will not be routed here; .*ollama serve.*switchyard onboard --redetect`));
    expect(finding(r.findings, 'claude').message).toMatch(/^Claude Code not found .*: claude tasks will not be routed here; .*npm install -g @anthropic-ai\/claude-code/);
    expect(finding(r.findings, 'gh').message).toMatch(/^gh \(GitHub CLI\) not found: passing work is pushed as a branch, no pull request is opened; .*gh auth login/);
    expect(finding(r.findings, 'gpu').message).toMatch(/^no GPU \(nvidia-smi not found\): tasks that require gpu will not be routed here/);
  });

  it('logged out, failing and half-working: the executor is offered (the hub routes around it until a recheck), and the finding says so', async () => {
    const bin = writeHostStubs(join(root, 'half'), { gpu: 'failing', gh: 'logged-out', claude: 'logged-out' });
    ollama.generate = { status: 500, error: 'llama runner process has terminated: signal: killed' };
    try {
      const r = await run(bin);
      expect(r.plan.executors).toEqual(['shell', 'ollama', 'claude']);
      expect(r.plan.gpus).toBe(0);
      expect(finding(r.findings, 'ollama').message).toMatch(/cannot generate with qwen2\.5-coder:7b \(.*llama runner process has terminated.*\): the sidecar will mark ollama unavailable and the hub routes around it/);
      expect(finding(r.findings, 'claude').message).toMatch(/installed but not logged in: the sidecar offers claude as unavailable .*\/login.*ANTHROPIC_API_KEY.*switchyard agent recheck/);
      expect(finding(r.findings, 'gh').message).toMatch(/is not logged in \(You are not logged into any GitHub hosts\. .*\): passing work is pushed as a branch without a PR; run `gh auth login`/);
      expect(finding(r.findings, 'gpu').message).toMatch(/^no GPU \(nvidia-smi failed: .*\): tasks that require gpu will not be routed here; .*NVIDIA driver/);
    } finally {
      ollama.generate = { response: 'OK' };
    }
  });

  it('Ollama without a model, and the real Claude Code CLI (installed here, not logged in)', async () => {
    const bin = writeHostStubs(join(root, 'real-claude'), { claude: 'missing' });
    const saved = ollama.models;
    ollama.models = [];
    try {
      const r = await run(bin, { claudeBinary: resolve(import.meta.dirname, '../../node_modules/.bin/claude') });
      expect(finding(r.findings, 'ollama').message).toMatch(/has no model: tasks naming a model will not be routed here; `ollama pull/);
      expect(r.plan.ollama_models).toEqual([]);
      expect(finding(r.findings, 'claude')).toMatchObject({ level: 'warn' });
      expect(finding(r.findings, 'claude').message).toMatch(/^Claude Code 2\.\d+\.\d+ \(Claude Code\) is installed but not logged in/);
      expect(r.plan.executors).toContain('claude');
    } finally {
      ollama.models = saved;
    }
  });

  it('repos: an unreachable URL and a folder that is no checkout fail, naming the repo; reachable ones pass', async () => {
    const bin = writeHostStubs(join(root, 'repos'));
    const good = join(root, 'good');
    await initRepo(good);
    const err = await run(bin, {
      repos: [
        { name: 'good', url: good },
        { name: 'gone', url: join(root, 'no-such-repo.git') },
        { name: 'plain', path: root },
      ],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SwitchyardError);
    expect((err as SwitchyardError).code).toBe('ONBOARD_REPO_UNREACHABLE');
    expect((err as Error).message).toMatch(/repo gone: cannot reach .*no-such-repo\.git .*check the URL and this host's git credentials/);
    expect((err as Error).message).toMatch(/repo plain: .* is not a git checkout/);
    expect((err as Error).message).not.toMatch(/repo good/);
  });

  it('the join token and the hub: a used token fails preflight with its code; taken names are reported', async () => {
    const bin = writeHostStubs(join(root, 'hub'));
    await h.addAgent('so-much-for-subtlety');
    const r = await run(bin);
    expect(r.join?.taken).toEqual(['so-much-for-subtlety']);
    const used = await joinToken();
    await h.hub.app.inject({ method: 'POST', url: '/v1/join', headers: { authorization: `Bearer ${used}` }, payload: { name: 'someone', exchange_key: 'z'.repeat(40) } });
    const err = await run(bin, { joinToken: used }).catch((e: unknown) => e);
    expect((err as SwitchyardError).code).toBe('JOIN_TOKEN_USED');
  });

  it('Node.js versions: 20.19 and newer', () => {
    expect(nodeSupported('v20.19.0')).toBe(true);
    expect(nodeSupported('22.1.0')).toBe(true);
    expect(nodeSupported('20.18.1')).toBe(false);
    expect(nodeSupported('18.20.0')).toBe(false);
  });
});
