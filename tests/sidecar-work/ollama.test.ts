import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OllamaExecutor, type OllamaExecutorOptions } from '../../sidecar/executors/ollama.js';
import { startFakeOllama, type FakeOllama } from '../fixtures/fake-ollama.js';
import { progressText, request, tempDir } from './helpers.js';

let fake: FakeOllama;
let base: string; // holds the worktree and, beside it, files that must stay out of reach
let cwd: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  fake = await startFakeOllama();
  ({ dir: base, cleanup } = await tempDir());
  cwd = join(base, 'worktree');
  await mkdir(cwd);
});
afterEach(async () => {
  await fake.close();
  await cleanup();
});

const executor = (opts: Partial<OllamaExecutorOptions> = {}) =>
  new OllamaExecutor({ baseUrl: fake.url, model: 'qwen2.5-coder:7b', ...opts });

/** The tool messages of the n-th chat request. */
const toolMessages = (n: number) => fake.chats()[n]!.messages.filter((m) => m.role === 'tool');

describe('OllamaExecutor: chat requests and the agent loop', () => {
  it('sends the documented chat request and streams the answer text as progress', async () => {
    fake.script({ content: 'All done: nothing to change.', promptEvalCount: 120, evalCount: 7 });
    const { req, progress } = request({ cwd, prompt: 'Fix the bug' });
    const res = await executor({ numCtx: 8192, keepAlive: '5m' }).run(req);

    expect(res.ok).toBe(true);
    expect(res.turns).toBe(1);
    expect(res.output).toBe('All done: nothing to change.');
    expect(progressText(progress, 'text')).toBe('All done: nothing to change.');
    expect(progress.filter((p) => p.stream === 'text').length).toBeGreaterThan(1); // streamed, not at the end
    expect(res.usage).toMatchObject({ input_tokens: 120, output_tokens: 7, cost_usd: 0 });

    const [body] = fake.chats();
    expect(body).toMatchObject({ model: 'qwen2.5-coder:7b', stream: true, options: { num_ctx: 8192 }, keep_alive: '5m' });
    expect(body!.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(body!.messages[1]!.content).toBe('Fix the bug');
    expect(body!.tools!.map((t) => t.function.name)).toEqual(['read_file', 'write_file', 'list_dir', 'search_text', 'run_command']);
    for (const t of body!.tools!) {
      expect(t.type).toBe('function');
      expect(t.function.parameters).toMatchObject({ type: 'object', properties: expect.any(Object), required: expect.any(Array) });
    }
  });

  it('runs tool calls in the worktree, returns their results as tool messages, and sums usage over turns', async () => {
    await writeFile(join(cwd, 'README.md'), 'hello readme\n');
    fake.script(
      {
        content: 'Let me look.',
        toolCalls: [
          { name: 'read_file', arguments: { path: 'README.md' } },
          { name: 'write_file', arguments: { path: 'src/new.txt', content: 'fresh\n' } },
          { name: 'list_dir', arguments: { path: '.' } },
        ],
        promptEvalCount: 100,
        evalCount: 20,
      },
      { content: 'Wrote src/new.txt.', promptEvalCount: 150, evalCount: 9 },
    );
    const { req, progress } = request({ cwd, prompt: 'Add a file' });
    const res = await executor().run(req);

    expect(res.ok).toBe(true);
    expect(res.turns).toBe(2);
    expect(await readFile(join(cwd, 'src/new.txt'), 'utf8')).toBe('fresh\n');
    expect(res.usage).toMatchObject({ input_tokens: 250, output_tokens: 29 });
    expect(progressText(progress, 'tool')).toContain('write_file');

    const second = fake.chats()[1]!;
    const assistant = second.messages[2]!;
    expect(assistant).toMatchObject({ role: 'assistant', content: 'Let me look.' });
    expect(assistant.tool_calls).toHaveLength(3);
    expect(toolMessages(1)).toEqual([
      { role: 'tool', tool_name: 'read_file', content: 'hello readme\n' },
      { role: 'tool', tool_name: 'write_file', content: 'wrote 6 bytes to src/new.txt' },
      { role: 'tool', tool_name: 'list_dir', content: 'README.md\nsrc/' },
    ]);
    expect(res.output).toContain('Wrote src/new.txt.');
  });

  it('counts a missing prompt_eval_count or eval_count as 0', async () => {
    fake.script({ content: 'cached', promptEvalCount: null, evalCount: null });
    const res = await executor().run(request({ cwd, prompt: 'p' }).req);
    expect(res.ok).toBe(true);
    expect(res.usage).toMatchObject({ input_tokens: 0, output_tokens: 0 });
  });

  it('accepts tool arguments sent as a JSON string and searches text', async () => {
    await mkdir(join(cwd, 'lib'));
    await writeFile(join(cwd, 'lib/a.ts'), 'const x = 1;\nexport const needle = 2;\n');
    await writeFile(join(cwd, 'b.txt'), 'no match here\n');
    fake.script({ toolCalls: [{ name: 'search_text', arguments: '{"pattern":"needle"}' }] }, { content: 'found' });
    const res = await executor().run(request({ cwd, prompt: 'find' }).req);
    expect(res.ok).toBe(true);
    expect(toolMessages(1)[0]!.content).toBe('lib/a.ts:2: export const needle = 2;');
  });

  it('runs commands in the worktree with their exit status, and kills one that runs too long', async () => {
    fake.script(
      {
        toolCalls: [
          { name: 'run_command', arguments: { command: 'pwd; echo oops >&2; exit 3' } },
          { name: 'run_command', arguments: { command: 'sleep 30' } },
        ],
      },
      { content: 'ok' },
    );
    const res = await executor({ tools: { commandTimeoutMs: 300 } }).run(request({ cwd, prompt: 'run' }).req);
    expect(res.ok).toBe(true);
    const [first, second] = toolMessages(1);
    expect(first!.content).toBe(`exit code 3\n${cwd}\noops\n`);
    expect(second!.content).toMatch(/^timed out after 300 ms/);
  });

  it('does not offer run_command when commands are switched off, and refuses a call to it', async () => {
    fake.script({ toolCalls: [{ name: 'run_command', arguments: { command: 'touch made' } }] }, { content: 'ok' });
    await executor({ tools: { allowCommands: false } }).run(request({ cwd, prompt: 'p' }).req);
    expect(fake.chats()[0]!.tools!.map((t) => t.function.name)).not.toContain('run_command');
    expect(toolMessages(1)[0]!.content).toMatch(/^error:/);
    expect(existsSync(join(cwd, 'made'))).toBe(false);
  });

  it('answers unknown tools and bad arguments with an error the model can read', async () => {
    fake.script(
      {
        toolCalls: [
          { name: 'delete_everything', arguments: {} },
          { name: 'read_file', arguments: {} },
          { name: 'read_file', arguments: 'not json' },
          { name: 'read_file', arguments: { path: 'missing.txt' } },
        ],
      },
      { content: 'ok' },
    );
    const res = await executor().run(request({ cwd, prompt: 'p' }).req);
    expect(res.ok).toBe(true);
    expect(toolMessages(1).map((m) => m.content)).toEqual([
      "error: unknown tool 'delete_everything'",
      "error: argument 'path' must be a non-empty string",
      'error: the arguments are not a JSON object',
      'error: no such file or folder',
    ]);
  });

  it('stops with EXEC_TURN_LIMIT when the model keeps calling tools', async () => {
    const again = { toolCalls: [{ name: 'list_dir', arguments: {} }] };
    fake.script(again, again, again);
    const res = await executor({ maxTurns: 2 }).run(request({ cwd, prompt: 'p' }).req);
    expect(res.ok).toBe(false);
    expect(res.turns).toBe(2);
    expect(res.failure).toMatchObject({ code: 'EXEC_TURN_LIMIT', retryable: true });
    expect(fake.chats()).toHaveLength(2);
  });
});

describe('OllamaExecutor: confinement to the worktree', () => {
  it('refuses .. escapes, absolute paths, symlinks leading outside and .git', async () => {
    await writeFile(join(base, 'secret.txt'), 'TOP-SECRET');
    await mkdir(join(base, 'elsewhere'));
    await symlink(join(base, 'elsewhere'), join(cwd, 'link-out'));
    await symlink(join(base, 'nothing-here'), join(cwd, 'dangling'));
    await symlink(join(base, 'secret.txt'), join(cwd, 'secret-link'));
    await mkdir(join(cwd, '.git'));
    await writeFile(join(cwd, '.git/config'), 'url = https://token@example.invalid/repo');
    fake.script(
      {
        toolCalls: [
          { name: 'read_file', arguments: { path: '../secret.txt' } },
          { name: 'read_file', arguments: { path: join(base, 'secret.txt') } },
          { name: 'read_file', arguments: { path: 'secret-link' } },
          { name: 'write_file', arguments: { path: '../../evil.txt', content: 'x' } },
          { name: 'write_file', arguments: { path: 'link-out/evil.txt', content: 'x' } },
          { name: 'write_file', arguments: { path: 'dangling', content: 'x' } },
          { name: 'list_dir', arguments: { path: 'link-out' } },
          { name: 'search_text', arguments: { pattern: 'SECRET', path: '..' } },
          { name: 'read_file', arguments: { path: '.git/config' } },
          { name: 'write_file', arguments: { path: 'sub/../.git/hooks/pre-commit', content: 'x' } },
        ],
      },
      { content: 'ok' },
    );
    const res = await executor().run(request({ cwd, prompt: 'p' }).req);
    expect(res.ok).toBe(true);
    const results = toolMessages(1).map((m) => m.content);
    expect(results).toHaveLength(10);
    for (const r of results) expect(r).toMatch(/^error: path '.*' refused/);
    expect(JSON.stringify(fake.requests)).not.toContain('TOP-SECRET');
    expect(JSON.stringify(fake.requests)).not.toContain('token@');
    expect(existsSync(join(base, 'evil.txt'))).toBe(false);
    expect(existsSync(join(base, 'elsewhere/evil.txt'))).toBe(false);
    expect(existsSync(join(base, 'nothing-here'))).toBe(false);
    expect(existsSync(join(cwd, '.git/hooks'))).toBe(false);
  });

  it('follows symlinks that stay inside the worktree', async () => {
    await mkdir(join(cwd, 'real'));
    await writeFile(join(cwd, 'real/f.txt'), 'inside');
    await symlink(join(cwd, 'real'), join(cwd, 'alias'));
    fake.script(
      {
        toolCalls: [
          { name: 'read_file', arguments: { path: 'alias/f.txt' } },
          { name: 'write_file', arguments: { path: 'alias/g.txt', content: 'via alias' } },
        ],
      },
      { content: 'ok' },
    );
    await executor().run(request({ cwd, prompt: 'p' }).req);
    expect(toolMessages(1)[0]!.content).toBe('inside');
    expect(await readFile(join(cwd, 'real/g.txt'), 'utf8')).toBe('via alias');
  });
});

describe('OllamaExecutor: failures', () => {
  it('cancels a run while the model is streaming', async () => {
    fake.script({ content: 'thinking...', hang: true });
    const ac = new AbortController();
    const { req, progress } = request({ cwd, prompt: 'p', signal: ac.signal });
    req.onProgress = (p) => {
      progress.push(p);
      ac.abort();
    };
    const res = await executor().run(req);
    expect(res.failure).toMatchObject({ code: 'EXEC_CANCELLED', retryable: false });
  });

  it('times out a run after req.timeoutMs, and a stream that goes silent after idleTimeoutMs', async () => {
    fake.script({ content: 'slow', hang: true }, { content: 'slow', hang: true });
    const overall = await executor().run(request({ cwd, prompt: 'p', timeoutMs: 300 }).req);
    expect(overall.failure).toMatchObject({ code: 'EXEC_TIMEOUT', retryable: true });
    const idle = await executor({ idleTimeoutMs: 300 }).run(request({ cwd, prompt: 'p' }).req);
    expect(idle.failure?.code).toBe('EXEC_TIMEOUT');
    expect(idle.failure?.message).toContain('no data from Ollama for 300 ms');
  });

  it('classifies a missing model, a stream error, bad JSON and a cut stream', async () => {
    fake.script(
      { status: 404, error: "model 'nope' not found, try pulling it first" },
      { content: 'partial', streamError: 'llama runner process has terminated' },
      { content: 'x', malformed: true },
      { content: 'x', truncate: true },
      { status: 400, error: 'invalid options' },
    );
    const run = async () => (await executor().run(request({ cwd, prompt: 'p' }).req)).failure;
    // A model not pulled is a fault of this host for that model only (issue 17), not of Ollama.
    expect(await run()).toMatchObject({ code: 'EXEC_MODEL_MISSING', message: expect.stringContaining("model 'nope' not found") });
    expect(await run()).toMatchObject({ code: 'EXEC_PROTOCOL', message: expect.stringContaining('llama runner process has terminated') });
    expect(await run()).toMatchObject({ code: 'EXEC_PROTOCOL', message: expect.stringContaining('not JSON') });
    expect(await run()).toMatchObject({ code: 'EXEC_PROTOCOL', message: expect.stringContaining('before its done line') });
    expect(await run()).toMatchObject({ code: 'EXEC_PROTOCOL', retryable: false });
  });

  it('reports an unreachable server as EXEC_UNAVAILABLE', async () => {
    const url = fake.url;
    await fake.close();
    fake = await startFakeOllama(); // for afterEach
    const res = await new OllamaExecutor({ baseUrl: url, model: 'm' }).run(request({ cwd, prompt: 'p' }).req);
    expect(res.failure).toMatchObject({ code: 'EXEC_UNAVAILABLE', retryable: true });
    expect(res.failure?.message).toContain('unreachable');
  });

  it('refuses a request without a model or a prompt', async () => {
    const noModel = await new OllamaExecutor({ baseUrl: fake.url }).run(request({ cwd, prompt: 'p' }).req);
    expect(noModel.failure).toMatchObject({ code: 'EXEC_BAD_REQUEST', retryable: false });
    const noPrompt = await executor().run(request({ cwd }).req);
    expect(noPrompt.failure?.code).toBe('EXEC_BAD_REQUEST');
    expect(fake.chats()).toHaveLength(0);
  });

  it('uses the request model over the configured one', async () => {
    fake.script({ content: 'ok' });
    await executor().run(request({ cwd, prompt: 'p', model: 'llama3.1:8b' }).req);
    expect(fake.chats()[0]!.model).toBe('llama3.1:8b');
  });
});

describe('OllamaExecutor: discovery and health', () => {
  it('describes installed models from /api/tags and loaded ones with VRAM from /api/ps', async () => {
    fake.models = [{ name: 'qwen2.5-coder:7b', size: 4_683_087_332 }, { name: 'llama3.1:8b' }];
    fake.loaded = [{ name: 'qwen2.5-coder:7b', size: 6_000_000_000, size_vram: 5_500_000_000, expires_at: '2030-01-01T00:00:00Z' }];
    const info = await executor().describe();
    expect(info).toEqual({
      name: 'ollama',
      available: true,
      models: ['qwen2.5-coder:7b', 'llama3.1:8b'],
      // The one view of what is warm, the registry's (the advert's model_info): what each model is, and which one is warm.
      modelInfo: [
        { name: 'qwen2.5-coder:7b', family: 'qwen2', parameter_size: '7.6B', quantization: 'Q4_K_M', size_bytes: 4_683_087_332, loaded: true, vram_bytes: 5_500_000_000, expires_at: Date.parse('2030-01-01T00:00:00Z') },
        { name: 'llama3.1:8b', family: 'qwen2', parameter_size: '7.6B', quantization: 'Q4_K_M', size_bytes: 1, loaded: false },
      ],
    });
  });

  it('describes itself as unavailable when the server does not answer', async () => {
    const url = fake.url;
    await fake.close();
    fake = await startFakeOllama();
    const info = await new OllamaExecutor({ baseUrl: url }).describe();
    expect(info.available).toBe(false);
    expect(info.detail).toContain('unreachable');
  });

  it('health proves generation with a tiny /api/generate and a non-empty answer', async () => {
    const ok = await executor().health();
    expect(ok).toMatchObject({ ok: true, model: 'qwen2.5-coder:7b', detail: 'OK' });
    const gen = fake.requests.find((r) => r.path === '/api/generate')!.body as Record<string, unknown>;
    expect(gen).toMatchObject({ model: 'qwen2.5-coder:7b', stream: false, options: { num_predict: 8 } });

    fake.generate = { response: '   ' };
    expect(await executor().health()).toMatchObject({ ok: false, detail: expect.stringContaining('empty') });
    fake.generate = { status: 500, error: 'out of memory' };
    expect(await executor().health()).toMatchObject({ ok: false, detail: expect.stringContaining('out of memory') });
  });

  it('health picks the first installed model when none is configured, and fails when none is installed', async () => {
    fake.models = [{ name: 'tiny:1b' }];
    expect(await new OllamaExecutor({ baseUrl: fake.url }).health()).toMatchObject({ ok: true, model: 'tiny:1b' });
    fake.models = [];
    expect(await new OllamaExecutor({ baseUrl: fake.url }).health()).toMatchObject({ ok: false, detail: 'no model is installed' });
  });
});
