/** Whether a host takes a task: executor, model and repo, with the codes the hub sees in task.reject. */
import { describe, expect, test } from 'vitest';
import { pino } from 'pino';
import { ShellExecutor } from '../../sidecar/executors/shell.js';
import { OllamaExecutor } from '../../sidecar/executors/ollama.js';
import { chooseExecutor, outcomeOf, TaskRunner } from '../../sidecar/task-runner.js';
import { WorkspaceManager } from '../../sidecar/workspace/workspace-manager.js';
import type { ExecutorName, Task } from '../../shared/task.js';
import type { Executor } from '../../sidecar/executors/executor.js';
import { tempDir } from '../support/processes.js';

const task = (over: Partial<Task>) => ({ id: 't1', title: 't', executor: null, command: null, model: null, repo: null, ...over }) as Task;

function runner(executors: Map<ExecutorName, Executor>) {
  const dir = tempDir('runner');
  const ws = new WorkspaceManager({ repos: [{ name: 'api', path: dir }], worktreesRoot: `${dir}/wt`, cacheDir: `${dir}/cache` });
  return new TaskRunner(executors, ws, { taskTimeoutMs: 60_000 }, pino({ enabled: false }));
}

describe('task runner', () => {
  const both = new Map<ExecutorName, Executor>([
    ['shell', new ShellExecutor()],
    ['ollama', new OllamaExecutor({ baseUrl: 'http://127.0.0.1:9' })],
  ]);

  test('chooses the named executor, else shell for a command, else a model executor', () => {
    expect(chooseExecutor(task({ executor: 'ollama' }), both)).toBe('ollama');
    expect(chooseExecutor(task({ command: 'true' }), both)).toBe('shell');
    expect(chooseExecutor(task({}), both)).toBe('ollama');
    expect(chooseExecutor(task({ executor: 'claude' }), both)).toBeNull();
  });

  test('refuses an executor it lacks, a model it lacks, an unavailable executor, and an unknown repo', () => {
    const r = runner(both);
    const ads = [
      { name: 'shell' as const, available: true, models: [] },
      { name: 'ollama' as const, available: true, models: ['qwen2.5-coder:7b'] },
    ];
    expect(r.refusal(task({ executor: 'claude' }), ads)?.code).toBe('SIDECAR_EXECUTOR_UNAVAILABLE');
    expect(r.refusal(task({ executor: 'ollama', model: 'llama3:70b' }), ads)).toEqual({
      code: 'SIDECAR_EXECUTOR_UNAVAILABLE',
      reason: "the ollama executor here has no model 'llama3:70b'",
    });
    expect(r.refusal(task({ executor: 'ollama', model: 'qwen2.5-coder:7b' }), ads)).toBeNull();
    expect(r.refusal(task({ executor: 'ollama' }), [{ name: 'ollama', available: false, models: [] }])?.code).toBe('SIDECAR_EXECUTOR_UNAVAILABLE');
    expect(r.refusal(task({ command: 'true', repo: 'web' }), ads)).toEqual({ code: 'SIDECAR_REPO_UNKNOWN', reason: "this host does not have repo 'web'" });
    expect(r.refusal(task({ command: 'true', repo: 'api' }), ads)).toBeNull();
  });
});

describe('the outcome a run reports', () => {
  const loop = (failure: Parameters<typeof outcomeOf>[2]['failure']) => ({
    ok: false,
    iterations: [],
    verification: null,
    usage: { input_tokens: 0, output_tokens: 0, cost_usd: 0, wall_ms: 1 },
    submission: null,
    ...(failure ? { failure } : {}),
  });

  test("passes the executor's retry_after into the error task.fail carries", () => {
    const out = outcomeOf('claude', null, loop({ code: 'EXEC_ERROR_RESULT', message: 'overloaded', retryable: true, retry_after: 1_767_225_600_000 }));
    expect(out.error).toEqual({ code: 'EXEC_ERROR_RESULT', message: 'overloaded', retryable: true, retry_after: 1_767_225_600_000 });
    expect(outcomeOf('shell', null, loop({ code: 'EXEC_EXIT_NONZERO', message: 'exit 1', retryable: true })).error).toEqual({
      code: 'EXEC_EXIT_NONZERO',
      message: 'exit 1',
      retryable: true,
    });
  });
});
