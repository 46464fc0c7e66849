import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ShellExecutor } from '../../sidecar/executors/shell.js';
import { runProcess } from '../../sidecar/executors/run-process.js';
import { progressText, request, tempDir, waitGone } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

/** Pids printed by the command as `pid:<n>` lines, as they stream in. */
function pidsIn(text: string): number[] {
  return [...text.matchAll(/pid:(\d+)/g)].map((m) => Number(m[1]));
}

describe('ShellExecutor', () => {
  it('runs the command in cwd with /bin/sh, streams stdout and stderr, and reports exit 0 as ok', async () => {
    const { req, progress } = request({ cwd: dir, command: 'pwd; echo out; echo err >&2; echo "$FOO"', env: { FOO: 'bar' } });
    const res = await new ShellExecutor().run(req);
    expect(res.ok).toBe(true);
    expect(res.exit_code).toBe(0);
    expect(res.failure).toBeUndefined();
    expect(progressText(progress, 'stdout')).toBe(`${dir}\nout\nbar\n`);
    expect(progressText(progress, 'stderr')).toBe('err\n');
    expect(res.output).toContain('out\n');
    expect(res.output).toContain('err\n');
    expect(res.usage).toMatchObject({ input_tokens: 0, output_tokens: 0, cost_usd: 0 });
    expect(res.usage.wall_ms).toBeGreaterThanOrEqual(0);
  });

  it('classifies a non-zero exit as EXEC_EXIT_NONZERO with the exit code', async () => {
    const { req } = request({ cwd: dir, command: 'echo failing; exit 3' });
    const res = await new ShellExecutor().run(req);
    expect(res.ok).toBe(false);
    expect(res.exit_code).toBe(3);
    expect(res.failure).toMatchObject({ code: 'EXEC_EXIT_NONZERO', retryable: true });
    expect(res.failure?.message).toContain('3');
    expect(res.output).toBe('failing\n');
  });

  it('on cancel kills the whole process group, grandchildren included', async () => {
    const ac = new AbortController();
    const { req, progress } = request({
      cwd: dir,
      command: 'echo pid:$$; sleep 30 & echo pid:$!; sleep 30',
      signal: ac.signal,
      onProgress: (p) => {
        progress.push(p);
        if (pidsIn(progressText(progress, 'stdout')).length === 2) ac.abort();
      },
    });
    const res = await new ShellExecutor().run(req);
    const [shell, grandchild] = pidsIn(progressText(progress, 'stdout'));
    expect(shell).toBeGreaterThan(0);
    expect(grandchild).toBeGreaterThan(0);
    expect(res.ok).toBe(false);
    expect(res.failure).toMatchObject({ code: 'EXEC_CANCELLED', retryable: false });
    await waitGone(shell!);
    await waitGone(grandchild!);
  });

  it('on timeout kills the group and reports EXEC_TIMEOUT', async () => {
    const { req, progress } = request({ cwd: dir, command: 'sleep 30 & echo pid:$!; sleep 30', timeoutMs: 300 });
    const res = await new ShellExecutor().run(req);
    const [grandchild] = pidsIn(progressText(progress, 'stdout'));
    expect(res.failure).toMatchObject({ code: 'EXEC_TIMEOUT', retryable: true });
    expect(res.exit_code).toBeNull();
    await waitGone(grandchild!);
  });

  it('escalates to SIGKILL for a grandchild that ignores SIGTERM', async () => {
    const { req, progress } = request({
      cwd: dir,
      command: `sh -c 'trap "" TERM; echo pid:$$; sleep 30' & sleep 30`,
      timeoutMs: 30_000,
    });
    const ac = new AbortController();
    req.signal = ac.signal;
    req.onProgress = (p) => {
      progress.push(p);
      if (pidsIn(progressText(progress, 'stdout')).length === 1) ac.abort();
    };
    const res = await new ShellExecutor({ killGraceMs: 200 }).run(req);
    const [stubborn] = pidsIn(progressText(progress, 'stdout'));
    expect(res.failure?.code).toBe('EXEC_CANCELLED');
    await waitGone(stubborn!);
  });

  it('reaps background jobs a command leaves behind when it exits by itself', async () => {
    const { req, progress } = request({ cwd: dir, command: 'sleep 30 & echo pid:$!; echo done' });
    const res = await new ShellExecutor().run(req);
    const [leftover] = pidsIn(progressText(progress, 'stdout'));
    expect(res.ok).toBe(true);
    await waitGone(leftover!);
  }, 15_000);

  it('keeps only a bounded tail of the output', async () => {
    const { req, progress } = request({
      cwd: dir,
      command: `node -e "process.stdout.write('x'.repeat(100000)); process.stdout.write('THE-END')"`,
    });
    const res = await new ShellExecutor({ tailBytes: 4096 }).run(req);
    expect(res.ok).toBe(true);
    expect(progressText(progress, 'stdout')).toHaveLength(100_007);
    expect(Buffer.byteLength(res.output)).toBe(4096);
    expect(res.output.endsWith('xTHE-END')).toBe(true);
  });

  it('refuses a request without a command, and reports a missing working folder as unavailable', async () => {
    const noCommand = await new ShellExecutor().run(request({ cwd: dir }).req);
    expect(noCommand.failure).toMatchObject({ code: 'EXEC_BAD_REQUEST', retryable: false });
    const noCwd = await new ShellExecutor().run(request({ cwd: join(dir, 'missing'), command: 'true' }).req);
    expect(noCwd.failure?.code).toBe('EXEC_UNAVAILABLE');
  });

  it('does not start the command when the signal is already aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const res = await new ShellExecutor().run(request({ cwd: dir, command: 'touch ran', signal: ac.signal }).req);
    expect(res.failure?.code).toBe('EXEC_CANCELLED');
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });

  it('describes itself as available only when its shell is executable', async () => {
    expect(await new ShellExecutor().describe()).toMatchObject({ name: 'shell', available: true, models: [] });
    expect(await new ShellExecutor({ shell: join(dir, 'nosh') }).describe()).toMatchObject({ available: false });
  });
});

describe('runProcess', () => {
  it('writes stdin to the child and closes it', async () => {
    const out = await runProcess({ file: 'cat', cwd: dir, stdin: 'hello\nworld' });
    expect(out.exitCode).toBe(0);
    expect(out.output).toBe('hello\nworld');
  });

  it('reports a missing program as a spawn error instead of rejecting', async () => {
    const out = await runProcess({ file: 'definitely-not-a-program-xyz', cwd: dir });
    expect(out.spawnError?.code).toBe('ENOENT');
    expect(out.exitCode).toBeNull();
  });

  it('keeps a separate tail of stderr', async () => {
    const out = await runProcess({ file: '/bin/sh', args: ['-c', 'echo a; echo b >&2; exit 2'], cwd: dir });
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toBe('b\n');
    expect(out.output).toContain('a\n');
  });
});
