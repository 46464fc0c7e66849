import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExecutorProgress } from '../../sidecar/executors/executor.js';
import { OllamaExecutor } from '../../sidecar/executors/ollama.js';
import { ShellExecutor } from '../../sidecar/executors/shell.js';
import { ClaudeExecutor } from '../../sidecar/executors/claude.js';
import { runBuildVerifyFix, type IterationRecord, type LoopTask } from '../../sidecar/loop/build-verify-fix.js';
import { loopWorkspace } from '../../sidecar/loop/workspace-adapter.js';
import { sidecarError } from '../../sidecar/workspace/errors.js';
import { WorkspaceManager } from '../../sidecar/workspace/workspace-manager.js';
import { CALC_REPO_FILES, FAIL_THEN_FIX, FIXED_SUM } from '../fixtures/calc-repo.js';
import { startFakeOllama, type FakeOllama } from '../fixtures/fake-ollama.js';
import { git, GIT_ENV, remoteAndClone } from './git-helpers.js';
import { tempDir } from './helpers.js';
import { makeTask } from '../fixtures/calc-repo.js';

let fake: FakeOllama;
let root: string;
let remote: string;
let clone: string;
let manager: WorkspaceManager;
let cleanup: () => Promise<void>;

const REPO_FILES = CALC_REPO_FILES;

beforeEach(async () => {
  fake = await startFakeOllama();
  ({ dir: root, cleanup } = await tempDir());
  ({ remote, clone } = await remoteAndClone(root, REPO_FILES));
  const { GIT_AUTHOR_NAME: _a, GIT_AUTHOR_EMAIL: _b, GIT_COMMITTER_NAME: _c, GIT_COMMITTER_EMAIL: _d, ...env } = GIT_ENV;
  manager = new WorkspaceManager({
    repos: [{ name: 'calc', path: clone, test_command: 'node test.mjs' }],
    worktreesRoot: join(root, 'worktrees'),
    cacheDir: join(root, 'cache'),
    env,
    gh: join(root, 'no-gh'),
  });
});
afterEach(async () => {
  await fake.close();
  await cleanup();
});

const ollama = () => new OllamaExecutor({ baseUrl: fake.url, model: 'qwen2.5-coder:7b' });

describe('runBuildVerifyFix with a scripted model', () => {
  it('fixes a failing test with a corrective prompt: success after two iterations, submitted', async () => {
    const fixed = FIXED_SUM;
    fake.script(...FAIL_THEN_FIX);
    const task = makeTask();
    const ws = await manager.prepare({ id: task.id, title: task.title, repo: 'calc' });
    const seen: IterationRecord[] = [];
    const progress: ExecutorProgress[] = [];

    const result = await runBuildVerifyFix({
      task,
      executor: ollama(),
      workspace: loopWorkspace(manager, ws),
      timeoutMs: 60_000,
      signal: new AbortController().signal,
      onProgress: (p) => progress.push(p),
      onIteration: (it) => seen.push(it),
    });

    expect(result.ok).toBe(true);
    expect(result.failure).toBeUndefined();
    expect(result.iterations).toHaveLength(2);
    expect(seen.map((i) => i.n)).toEqual([1, 2]);
    // Iteration 1: the test failed with its message.
    const first = result.iterations[0]!;
    expect(first.verification?.passed).toBe(false);
    expect(first.verification?.checks.map((c) => [c.type, c.passed])).toEqual([
      ['file_exists', true],
      ['test_passes', false],
    ]);
    expect(first.verification?.checks[1]!.output_tail).toContain('expected 5, got 6');
    expect(first.usage).toMatchObject({ input_tokens: 650, output_tokens: 45 });
    // Iteration 2 passed; the final report is the last one.
    expect(result.iterations[1]!.verification?.passed).toBe(true);
    expect(result.verification?.passed).toBe(true);
    expect(result.verification?.checks[1]!.output_tail).toContain('1 test passed');
    // Usage is cumulative over both iterations (four chat calls).
    expect(result.usage).toMatchObject({ input_tokens: 1700, output_tokens: 79, cost_usd: 0 });

    // The corrective prompt (first user message of the third chat call) carries the failure.
    const chats = fake.chats();
    expect(chats).toHaveLength(4);
    const firstPrompt = chats[0]!.messages.find((m) => m.role === 'user')!.content;
    const corrective = chats[2]!.messages.find((m) => m.role === 'user')!.content;
    expect(firstPrompt).toContain('# Task: Add a sum function');
    expect(firstPrompt).not.toContain('expected 5, got 6');
    expect(corrective).toContain('did not succeed');
    expect(corrective).toContain('test_passes: node test.mjs (exit 1)');
    expect(corrective).toContain('expected 5, got 6');
    expect(corrective).toContain('Done.'); // the previous attempt's output
    expect(corrective).toContain('# Task: Add a sum function');

    // Submitted: the remote has the task branch with the fixed file.
    expect(result.submission).toMatchObject({ branch: ws.branch, pushed: true, changed: true, pr_url: null });
    expect(await git(remote, 'show', `refs/heads/${ws.branch}:sum.mjs`)).toBe(fixed.trim());
    expect(await git(remote, 'rev-parse', `refs/heads/${ws.branch}`)).toBe(result.submission!.commit);
    expect(progress.filter((p) => p.stream === 'status').map((p) => p.data)).toEqual([
      // max_iterations, not max_attempts, bounds the loop (docs/workflow.md): the default 5.
      'iteration 1/5: running ollama',
      'iteration 1/5: not done (failing: test_passes)',
      'iteration 2/5: running ollama',
      'iteration 2/5: checks passed',
    ]);
    await manager.release(ws);
  });

  it('returns a retryable failure with the last report when the checks never pass', async () => {
    const bad = { toolCalls: [{ name: 'write_file', arguments: { path: 'sum.mjs', content: 'export const sum = () => 0;\n' } }] };
    fake.script(bad, { content: 'done' }, bad, { content: 'done again' });
    const task = makeTask({ max_iterations: 2 });
    const ws = await manager.prepare({ id: task.id, title: task.title, repo: 'calc' });
    const result = await runBuildVerifyFix({
      task,
      executor: ollama(),
      workspace: loopWorkspace(manager, ws),
      timeoutMs: 60_000,
      signal: new AbortController().signal,
      onProgress: () => {},
    });
    expect(result.ok).toBe(false);
    expect(result.failure).toMatchObject({ code: 'VERIFICATION_FAILED', retryable: true });
    expect(result.failure?.message).toContain('test_passes');
    expect(result.iterations).toHaveLength(2);
    expect(result.verification?.checks[1]!.output_tail).toContain('expected 5, got 0');
    expect(result.submission).toBeNull();
    expect(await git(remote, 'branch', '--list', ws.branch!)).toBe('');
  });

  it('caps iterations at the configured maximum even when max_attempts allows more', async () => {
    fake.script({ content: 'nothing' }, { content: 'nothing' });
    const ws = await manager.prepare({ id: 'cap', title: 'cap', repo: 'calc' });
    const result = await runBuildVerifyFix(
      { task: makeTask({ max_attempts: 10 }), executor: ollama(), workspace: loopWorkspace(manager, ws), timeoutMs: 60_000, signal: new AbortController().signal, onProgress: () => {} },
      { maxIterations: 1 },
    );
    expect(result.iterations).toHaveLength(1);
    expect(result.failure?.code).toBe('VERIFICATION_FAILED');
  });

  it('stops at once, without checks, when the executor cannot run', async () => {
    const url = fake.url;
    await fake.close();
    fake = await startFakeOllama();
    const ws = await manager.prepare({ id: 'down', title: 'down', repo: 'calc' });
    const result = await runBuildVerifyFix({
      task: makeTask(),
      executor: new OllamaExecutor({ baseUrl: url, model: 'm' }),
      workspace: loopWorkspace(manager, ws),
      timeoutMs: 60_000,
      signal: new AbortController().signal,
      onProgress: () => {},
    });
    expect(result.ok).toBe(false);
    expect(result.failure?.code).toBe('EXEC_UNAVAILABLE');
    expect(result.iterations).toHaveLength(1);
    expect(result.iterations[0]!.verification).toBeNull();
    expect(result.verification).toBeNull();
  });

  it('reports a cancel as EXEC_CANCELLED and running out of time as EXEC_TIMEOUT', async () => {
    const ws = await manager.prepare({ id: 'stop', title: 'stop', repo: 'calc' });
    fake.script({ content: 'thinking', hang: true });
    const ac = new AbortController();
    const cancelled = await runBuildVerifyFix({
      task: makeTask(),
      executor: ollama(),
      workspace: loopWorkspace(manager, ws),
      timeoutMs: 60_000,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.stream === 'text') ac.abort();
      },
    });
    expect(cancelled.failure).toMatchObject({ code: 'EXEC_CANCELLED', retryable: false });

    fake.script({ content: 'thinking', hang: true });
    const late = await runBuildVerifyFix({
      task: makeTask(),
      executor: ollama(),
      workspace: loopWorkspace(manager, ws),
      timeoutMs: 300,
      signal: new AbortController().signal,
      onProgress: () => {},
    });
    expect(late.failure).toMatchObject({ code: 'EXEC_TIMEOUT', retryable: true });
  });

  it('reports passing work that could not be pushed with the submission error code', async () => {
    fake.script({ toolCalls: [{ name: 'write_file', arguments: { path: 'sum.mjs', content: 'export const sum = (a, b) => a + b;\n' } }] }, { content: 'ok' });
    const ws = await manager.prepare({ id: 'rej', title: 'rej', repo: 'calc' });
    const result = await runBuildVerifyFix({
      task: makeTask(),
      executor: ollama(),
      workspace: {
        ...loopWorkspace(manager, ws),
        submit: async () => {
          throw sidecarError('SIDECAR_PUSH_REJECTED', 'push of task/x failed: stale info');
        },
      },
      timeoutMs: 60_000,
      signal: new AbortController().signal,
      onProgress: () => {},
    });
    expect(result.ok).toBe(false);
    expect(result.verification?.passed).toBe(true);
    expect(result.failure).toMatchObject({ code: 'SIDECAR_PUSH_REJECTED', retryable: true });
  });
});

describe('runBuildVerifyFix with the shell executor', () => {
  it('runs the task command once and submits when the checks pass', async () => {
    const task = makeTask({
      id: 'sh1',
      title: 'Generate sum',
      command: `printf 'export const sum = (a, b) => a + b;\\n' > sum.mjs`,
      max_attempts: 3,
    });
    const ws = await manager.prepare({ id: task.id, title: task.title, repo: 'calc' });
    const result = await runBuildVerifyFix({
      task,
      executor: new ShellExecutor(),
      workspace: loopWorkspace(manager, ws),
      timeoutMs: 60_000,
      signal: new AbortController().signal,
      onProgress: () => {},
    });
    expect(result.ok).toBe(true);
    expect(result.iterations).toHaveLength(1);
    expect(await readFile(join(ws.path, 'sum.mjs'), 'utf8')).toBe('export const sum = (a, b) => a + b;\n');
    expect(await git(remote, 'rev-parse', `refs/heads/${ws.branch}`)).toBe(result.submission!.commit);
  });

  it('fails a shell task whose command fails even when its checks pass, and does not retry it', async () => {
    const task = makeTask({ id: 'sh2', command: 'echo broken >&2; exit 4', verification: [{ type: 'file_exists', path: 'README.md' }] });
    const ws = await manager.prepare({ id: task.id, title: task.title, repo: 'calc' });
    const result = await runBuildVerifyFix({
      task,
      executor: new ShellExecutor(),
      workspace: loopWorkspace(manager, ws),
      timeoutMs: 60_000,
      signal: new AbortController().signal,
      onProgress: () => {},
    });
    expect(result.ok).toBe(false);
    expect(result.iterations).toHaveLength(1);
    expect(result.failure).toMatchObject({ code: 'EXEC_EXIT_NONZERO' });
    expect(result.iterations[0]!.executor.output_tail).toBe('broken\n');
  });

  it('works in a scratch folder with nothing to submit', async () => {
    const ws = await manager.prepare({ id: 'sh3', title: 'scratch', repo: null });
    const result = await runBuildVerifyFix({
      task: makeTask({ id: 'sh3', command: 'echo hi > out.txt', verification: [{ type: 'file_exists', path: 'out.txt' }] }),
      executor: new ShellExecutor(),
      workspace: loopWorkspace(manager, ws),
      timeoutMs: 60_000,
      signal: new AbortController().signal,
      onProgress: () => {},
    });
    expect(result).toMatchObject({ ok: true, submission: null });
    await manager.release(ws);
  });
});

describe('runBuildVerifyFix with the Claude executor (stub CLI)', () => {
  it('passes on the first iteration and carries cost and cache usage into the result', async () => {
    const ws = await manager.prepare({ id: 'cl1', title: 'Claude sum', repo: 'calc' });
    const env = {
      PATH: `${resolve(import.meta.dirname, '../fixtures/stub-claude')}:${process.env.PATH ?? ''}`,
      STUB_CLAUDE_TRANSCRIPT: 'success',
      STUB_CLAUDE_WRITE: 'sum.mjs=export const sum = (a, b) => a + b;\n',
    };
    const iterations: IterationRecord[] = [];
    const result = await runBuildVerifyFix({
      task: makeTask({ id: 'cl1', title: 'Claude sum' }),
      executor: new ClaudeExecutor(),
      workspace: loopWorkspace(manager, ws),
      timeoutMs: 60_000,
      signal: new AbortController().signal,
      onProgress: () => {},
      onIteration: (it) => iterations.push(it),
      env,
    });
    expect(result.ok).toBe(true);
    expect(result.iterations).toHaveLength(1);
    expect(result.usage).toMatchObject({ input_tokens: 1900, output_tokens: 80, cost_usd: 0.0123, cache_read_input_tokens: 12000 });
    expect(iterations[0]!.executor).toMatchObject({ ok: true, turns: 3, session_id: '5f0c2a4e-1111-4a7b-9c1d-000000000001' });
    expect(await git(remote, 'rev-parse', `refs/heads/${ws.branch}`)).toBe(result.submission!.commit);
  });
});
