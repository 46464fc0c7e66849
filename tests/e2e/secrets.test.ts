/**
 * Issue 7, item 1: tasks must not read the agent's token (or the admin token under
 * `switchyard up`). Real hub and sidecar processes: a sidecar started the README's way, with its
 * token in SWITCHYARD_TOKEN, runs a task that prints its whole environment; and one started with
 * --token-file, whose token is in no environment at all. Plus the allow-list itself.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSidecarConfig } from '../../sidecar/config.js';
import { gitEnv, pickEnv, scrubSecrets, taskEnv } from '../../sidecar/child-env.js';
import { ClaudeExecutor } from '../../sidecar/executors/claude.js';
import { OllamaExecutor } from '../../sidecar/executors/ollama.js';
import { runTool } from '../../sidecar/executors/workspace-tools.js';
import type { Task } from '../../shared/task.js';
import { ADMIN, api, ensureBuilt, freePort, registerAgent, startHubProc, startSidecarProc, tempDir, waitFor } from '../support/processes.js';
import { stopAfterEach } from '../support/cleanup.js';

const procs = stopAfterEach();
beforeAll(() => ensureBuilt());

async function runTask(url: string, spec: Record<string, unknown>): Promise<Task> {
  const created = await api<Task>(url, 'POST', '/v1/tasks', { title: 'print env', executor: 'shell', ...spec });
  expect(created.status).toBe(201);
  return waitFor('the task to finish', async () => {
    const t = (await api<{ task: Task }>(url, 'GET', `/v1/tasks/${created.body.id}`)).body.task;
    return (t.status === 'completed' || t.status === 'dead_letter') && t;
  });
}

const outputOf = (t: Task) => String((t.result as { output_tail?: string }).output_tail ?? '');

describe('the environment of task processes', () => {
  test('a task cannot print the agent token or the admin token, whether the token came by env or by file', async () => {
    const dir = tempDir('secrets');
    const hub = await startHubProc(join(dir, 'hub'), await freePort());
    procs.push(hub.proc);
    const token = await registerAgent(hub.url, 'env-agent');
    // The README's way: the token in SWITCHYARD_TOKEN; and an exported admin token, as under `up`.
    const sidecar = startSidecarProc(hub.url, 'env-agent', token, join(dir, 'env-agent'), {
      SWITCHYARD_ADMIN_TOKEN: ADMIN,
      SOME_SERVICE_PASSWORD: 'not-for-tasks',
      LANG: 'C.UTF-8',
    });
    procs.push(sidecar);
    await sidecar.waitForLog('connected to hub');
    const task = await runTask(hub.url, { command: 'env; echo "token=[$SWITCHYARD_TOKEN] admin=[$SWITCHYARD_ADMIN_TOKEN] path=[${PATH:+set}] task=[$TASK_VAR]"', env: { TASK_VAR: 'from-the-task' } });
    expect(task.status).toBe('completed');
    const out = outputOf(task);
    expect(out).toContain('token=[] admin=[] path=[set] task=[from-the-task]');
    expect(out).not.toContain(token);
    expect(out).not.toContain(ADMIN);
    expect(out).not.toContain('not-for-tasks');
    expect(out).toContain('LANG=C.UTF-8');
    await sidecar.stop();

    // With --token-file the token is in no environment: not the sidecar's, not the task's.
    const token2 = await registerAgent(hub.url, 'file-agent');
    const file = join(dir, 'file-agent.token');
    writeFileSync(file, `${token2}\n`, { mode: 0o600 });
    const s2 = startSidecarProc(hub.url, 'file-agent', '', join(dir, 'file-agent'), { SWITCHYARD_TOKEN: '', SWITCHYARD_TOKEN_FILE: file });
    procs.push(s2);
    await s2.waitForLog('connected to hub');
    const t2 = await runTask(hub.url, { command: 'env; cat /proc/$PPID/environ 2>/dev/null | tr "\\0" "\\n"; echo done' });
    expect(t2.status).toBe('completed');
    expect(outputOf(t2)).toContain('done');
    expect(outputOf(t2)).not.toContain(token2);
  }, 60_000);
});

describe('the allow-list', () => {
  const source = {
    PATH: '/usr/bin',
    HOME: '/home/a',
    LC_ALL: 'C',
    SWITCHYARD_TOKEN: 'sy_agent_x',
    SWITCHYARD_ADMIN_TOKEN: 'sya_x',
    SWITCHYARD_HUB: 'http://h',
    AWS_SECRET_ACCESS_KEY: 'aws',
    ANTHROPIC_API_KEY: 'sk-ant',
    SSH_AUTH_SOCK: '/tmp/agent.sock',
    GH_TOKEN: 'gho',
  };

  test('passes what tools need, never SWITCHYARD_*, and executor credentials only to that executor', () => {
    expect(taskEnv('shell', { envPass: [], env: {} }, [], source)).toEqual({ PATH: '/usr/bin', HOME: '/home/a', LC_ALL: 'C' });
    expect(taskEnv('claude', { envPass: [], env: {} }, [], source)).toMatchObject({ ANTHROPIC_API_KEY: 'sk-ant' });
    expect(taskEnv('ollama', { envPass: [], env: {} }, [], source).ANTHROPIC_API_KEY).toBeUndefined();
    // Even an operator's allow-list cannot pass the sidecar's own secrets.
    expect(pickEnv(source, ['SWITCHYARD_*', 'AWS_*'])).toEqual({ AWS_SECRET_ACCESS_KEY: 'aws' });
    const git = gitEnv({ envPass: [] }, source);
    expect(git).toMatchObject({ SSH_AUTH_SOCK: '/tmp/agent.sock', GH_TOKEN: 'gho' });
    expect(git.SWITCHYARD_TOKEN).toBeUndefined();
  });

  test("executors built in a process holding tokens start from the allow-list, not that process's environment", async () => {
    process.env.SWITCHYARD_TOKEN = 'sy_agent_in_process_env';
    try {
      const ollama = new OllamaExecutor();
      const claude = new ClaudeExecutor();
      for (const env of [ollama.opts.env, claude.opts.env]) {
        expect(env.SWITCHYARD_TOKEN).toBeUndefined();
        expect(env.PATH).toBe(process.env.PATH);
      }
      // The Ollama tool loop's commands run with that environment.
      const out = await runTool('run_command', { command: 'echo "[$SWITCHYARD_TOKEN]"' }, { root: tempDir('tool-env'), signal: new AbortController().signal, env: ollama.opts.env });
      expect(out).toContain('[]');
      expect(out).not.toContain('sy_agent_in_process_env');
    } finally {
      delete process.env.SWITCHYARD_TOKEN;
    }
  });

  test('layers: config env, then the repo, then the task', () => {
    const env = taskEnv('shell', { envPass: ['AWS_*'], env: { A: 'config', B: 'config' } }, [{ B: 'repo', C: 'repo' }, { C: 'task' }], source);
    expect(env).toMatchObject({ A: 'config', B: 'repo', C: 'task', AWS_SECRET_ACCESS_KEY: 'aws', PATH: '/usr/bin' });
  });

  test('scrubSecrets removes the token variables from a process environment', () => {
    const env: NodeJS.ProcessEnv = { ...source };
    scrubSecrets(env);
    expect(env.SWITCHYARD_TOKEN).toBeUndefined();
    expect(env.SWITCHYARD_ADMIN_TOKEN).toBeUndefined();
    expect(env.SWITCHYARD_HUB).toBe('http://h');
  });

  test('--token-file: read when it is 0600, refused with a clear message when others can read it', () => {
    const dir = tempDir('token-file');
    const file = join(dir, 'agent.token');
    writeFileSync(file, 'sy_agent_from_file\n', { mode: 0o600 });
    const cfg = loadSidecarConfig({ hubUrl: 'http://127.0.0.1:1', agentId: 'a', tokenFile: file }, {});
    expect(cfg.token).toBe('sy_agent_from_file');
    chmodSync(file, 0o644);
    expect(() => loadSidecarConfig({ hubUrl: 'http://127.0.0.1:1', agentId: 'a', tokenFile: file }, {})).toThrow(/readable by others.*chmod 600/);
    expect(() => loadSidecarConfig({ hubUrl: 'http://127.0.0.1:1', agentId: 'a', tokenFile: join(dir, 'missing') }, {})).toThrow(/cannot read the token file/);
    expect(() => loadSidecarConfig({ hubUrl: 'http://127.0.0.1:1', agentId: 'a', token: 't', env: { 'BAD-NAME': 'x' } }, {})).toThrow(/not a variable name/);
  });
});
