/**
 * The sidecar's side of the workflow, in the build–verify–fix loop with a scripted model (the
 * fake Ollama speaks the real /api/chat wire format) and a real git repo: boundaries (a write
 * outside the allowed paths refused up front; a change outside them fails verification naming
 * it), git_clean passing for work that writes a file, the ask_operator tool, a plan-phase run,
 * max_iterations separate from max_attempts, and feedback and answers in the prompt.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OllamaExecutor } from '../../sidecar/executors/ollama.js';
import { runBuildVerifyFix, type LoopTask } from '../../sidecar/loop/build-verify-fix.js';
import { loopWorkspace } from '../../sidecar/loop/workspace-adapter.js';
import { WorkspaceManager } from '../../sidecar/workspace/workspace-manager.js';
import { CALC_REPO_FILES, FIXED_SUM, makeTask } from '../fixtures/calc-repo.js';
import { startFakeOllama, type FakeOllama } from '../fixtures/fake-ollama.js';
import { git, GIT_ENV, remoteAndClone } from '../sidecar-work/git-helpers.js';
import { tempDir } from '../sidecar-work/helpers.js';

let fake: FakeOllama;
let root: string;
let remote: string;
let manager: WorkspaceManager;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  fake = await startFakeOllama();
  ({ dir: root, cleanup } = await tempDir());
  let clone: string;
  ({ remote, clone } = await remoteAndClone(root, CALC_REPO_FILES));
  const { GIT_AUTHOR_NAME: _a, GIT_AUTHOR_EMAIL: _b, GIT_COMMITTER_NAME: _c, GIT_COMMITTER_EMAIL: _d, ...env } = GIT_ENV;
  manager = new WorkspaceManager({ repos: [{ name: 'calc', path: clone, test_command: 'node test.mjs' }], worktreesRoot: join(root, 'worktrees'), cacheDir: join(root, 'cache'), env, gh: join(root, 'no-gh') });
});
afterEach(async () => {
  await fake.close();
  await cleanup();
});

const run = async (task: LoopTask) => {
  const ws = await manager.prepare({ id: task.id, title: task.title, repo: 'calc' });
  const result = await runBuildVerifyFix({ task, executor: new OllamaExecutor({ baseUrl: fake.url, model: 'qwen2.5-coder:7b' }), workspace: loopWorkspace(manager, ws), timeoutMs: 60_000, signal: new AbortController().signal, onProgress: () => {} });
  return { result, ws };
};
const userPrompt = (i: number) => fake.chats()[i]!.messages.find((m) => m.role === 'user')!.content;

describe('boundaries', () => {
  it('refuses a write outside the allowed paths before writing, and fails verification for a change outside them, naming it', async () => {
    fake.script(
      { toolCalls: [{ name: 'write_file', arguments: { path: 'secrets/evil.txt', content: 'x' } }] },
      { toolCalls: [{ name: 'write_file', arguments: { path: 'sum.mjs', content: FIXED_SUM } }, { name: 'run_command', arguments: { command: 'echo scratch > notes.txt' } }] },
      { content: 'Done.' },
    );
    const { result, ws } = await run(makeTask({ allowed_paths: ['sum.mjs', 'src/'], max_iterations: 1 }));
    const toolAnswer = fake.chats()[1]!.messages.find((m) => m.role === 'tool')!.content;
    expect(toolAnswer).toMatch(/^error: PATH_NOT_ALLOWED: this task may change only sum.mjs, src\//);
    expect(existsSync(join(ws.path, 'secrets/evil.txt'))).toBe(false);
    expect(result.ok).toBe(false);
    expect(result.failure).toMatchObject({ code: 'VERIFICATION_FAILED' });
    const bounds = result.verification!.checks.find((c) => c.type === 'allowed_paths')!;
    expect(bounds.passed).toBe(false);
    expect(bounds.output_tail.split('\n').slice(1).map((l) => l.trim())).toEqual(['notes.txt']);
    // The task's own checks passed: only the boundary failed.
    expect(result.verification!.checks.filter((c) => c.type !== 'allowed_paths').every((c) => c.passed)).toBe(true);
    expect(userPrompt(0)).toContain('## Files you may change');
  });

  it('git_clean passes for a task that writes a file: the sidecar commits it', async () => {
    fake.script({ toolCalls: [{ name: 'write_file', arguments: { path: 'sum.mjs', content: FIXED_SUM } }] }, { content: 'Done.' });
    const { result, ws } = await run(makeTask({ verification: [{ type: 'test_passes' }, { type: 'git_clean' }] }));
    expect(result.ok).toBe(true);
    expect(result.verification!.checks.find((c) => c.type === 'git_clean')).toMatchObject({ passed: true, output_tail: expect.stringContaining('?? sum.mjs') });
    expect(await git(remote, 'show', `refs/heads/${ws.branch}:sum.mjs`)).toBe(FIXED_SUM.trim());
  });
});

describe('questions, plans, iterations, feedback', () => {
  it('the ask_operator tool stops the run with the question; nothing is checked or submitted', async () => {
    fake.script({ toolCalls: [{ name: 'ask_operator', arguments: { question: 'Integers only, or floats too?', options: ['integers', 'floats'] } }] });
    const { result, ws } = await run(makeTask());
    expect(result.question).toEqual({ text: 'Integers only, or floats too?', options: ['integers', 'floats'] });
    expect(result.ok).toBe(false);
    expect(result.verification).toBeNull();
    expect(result.submission).toBeNull();
    expect(fake.chats()[0]!.tools!.map((t) => t.function.name)).toContain('ask_operator');
    expect(await git(remote, 'branch', '--list', ws.branch!)).toBe('');
  });

  it('a plan-phase run asks for a plan, runs once, checks and submits nothing, and returns the plan', async () => {
    fake.script({ content: 'Steps:\n- add sum.mjs\n\nFiles:\n- sum.mjs\n\nRisks:\n- none' });
    const { result } = await run(makeTask({ phase: 'plan' }));
    expect(result.ok).toBe(true);
    expect(result.plan).toContain('- add sum.mjs');
    expect(result.iterations).toHaveLength(1);
    expect(result.verification).toBeNull();
    expect(result.submission).toBeNull();
    expect(userPrompt(0)).toMatch(/^# Plan this task; do not change any file yet\./);
  });

  it('max_iterations bounds the loop, not max_attempts', async () => {
    fake.script({ content: 'nothing' }, { content: 'nothing' }, { content: 'nothing' });
    const { result } = await run(makeTask({ max_attempts: 1, max_iterations: 3 }));
    expect(result.iterations).toHaveLength(3);
  });

  it('the prompt quotes the feedback that reopened the task, the answers and the approved plan', async () => {
    fake.script({ toolCalls: [{ name: 'write_file', arguments: { path: 'sum.mjs', content: FIXED_SUM } }] }, { content: 'Done.' });
    await run(
      makeTask({
        feedback: [{ at: 1, by: 'guardian:qa:01QA', kind: 'guardian', text: 'sum(2, 3) must be 5', findings: [{ message: 'no null check', file: 'sum.mjs', line: 1, severity: 'high' }], attempt: 1 }],
        clarifications: [{ question: 'Floats?', asked_at: 1, asked_by: 'a0', generation: 1, answer: 'Integers only.', answered_at: 2, answered_by: 'admin' }],
        plan: { steps: ['write sum.mjs'], files: ['sum.mjs'], risks: [], approved_at: 3, approved_by: 'admin' },
        phase: 'implement',
      }),
    );
    const p = userPrompt(0);
    for (const part of ['## Your earlier work was rejected (1 time)', 'From guardian qa', '> sum(2, 3) must be 5', '- [high] sum.mjs:1: no null check', 'Q: Floats?\nA: Integers only.', '## The approved plan', '1. write sum.mjs']) {
      expect(p).toContain(part);
    }
  });
});
