import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClaudeExecutor } from '../../sidecar/executors/claude.js';
import { detectUsageLimit, nextWallClock, parseReset } from '../../sidecar/executors/usage-limit.js';
import { progressText, request, tempDir, waitFor, waitGone } from './helpers.js';
import { existsSync } from 'node:fs';

const STUB_DIR = resolve(import.meta.dirname, '../fixtures/stub-claude');

let cwd: string;
let cleanup: () => Promise<void>;
let recordFile: string;
beforeEach(async () => {
  ({ dir: cwd, cleanup } = await tempDir());
  recordFile = join(cwd, '.stub-record.json');
});
afterEach(async () => cleanup());

/** Env that puts the stub first on PATH and picks its transcript. */
function stubEnv(transcript: string, more: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${STUB_DIR}:${process.env.PATH ?? ''}`, STUB_CLAUDE_TRANSCRIPT: transcript, STUB_CLAUDE_RECORD: recordFile, ...more };
}

async function recorded(): Promise<{ argv: string[]; stdin: string; cwd: string; pid: number; grandchild?: number }> {
  return JSON.parse(await readFile(recordFile, 'utf8'));
}

describe('ClaudeExecutor', () => {
  it('runs claude -p with stream-json, passes the prompt on stdin only, and reports usage and cost from the result', async () => {
    const prompt = `Fix the bug in sum.js.\n${'Context line.\n'.repeat(20_000)}`; // ~280 KB: too big for comfort in argv
    const exec = new ClaudeExecutor({ model: 'sonnet', maxTurns: 7, permissionMode: 'acceptEdits', allowedTools: ['Read', 'Edit'] });
    const { req, progress } = request({ cwd, prompt, env: stubEnv('success') });
    const res = await exec.run(req);

    expect(res.ok).toBe(true);
    expect(res.exit_code).toBe(0);
    expect(res.output).toBe('Fixed: sum() no longer adds 1.');
    expect(res.turns).toBe(3);
    expect(res.session_id).toBe('5f0c2a4e-1111-4a7b-9c1d-000000000001');
    expect(res.usage).toMatchObject({
      input_tokens: 1900,
      output_tokens: 80,
      cost_usd: 0.0123,
      cache_creation_input_tokens: 2500,
      cache_read_input_tokens: 12000,
    });

    const rec = await recorded();
    expect(rec.stdin).toBe(prompt);
    expect(rec.cwd).toBe(cwd);
    expect(rec.argv).toEqual([
      '-p', '--output-format', 'stream-json', '--verbose', '--max-turns', '7',
      '--permission-mode', 'acceptEdits', '--model', 'sonnet', '--allowedTools', 'Read,Edit',
    ]);
    expect(rec.argv.join(' ')).not.toContain('Fix the bug');

    expect(progressText(progress, 'status')).toContain('5f0c2a4e-1111-4a7b-9c1d-000000000001');
    expect(progressText(progress, 'text')).toContain("I'll fix the off-by-one in sum.js.");
    expect(progressText(progress, 'tool')).toMatch(/^Edit \{"file_path":"\/work\/repo\/sum.js"/);
  });

  it('uses the request model over the configured one, and passes no --model when there is none', async () => {
    await new ClaudeExecutor({ model: 'sonnet' }).run(request({ cwd, prompt: 'p', model: 'opus', env: stubEnv('success') }).req);
    expect((await recorded()).argv).toContain('opus');
    await new ClaudeExecutor().run(request({ cwd, prompt: 'p', env: stubEnv('success') }).req);
    expect((await recorded()).argv).not.toContain('--model');
  });

  it('classifies an error result (max turns) as EXEC_ERROR_RESULT and still reports its cost', async () => {
    const res = await new ClaudeExecutor().run(request({ cwd, prompt: 'p', env: stubEnv('error-max-turns') }).req);
    expect(res.ok).toBe(false);
    expect(res.failure).toMatchObject({ code: 'EXEC_ERROR_RESULT', retryable: true });
    expect(res.failure?.message).toContain('error_max_turns');
    expect(res.usage.cost_usd).toBe(0.0042);
    expect(res.turns).toBe(2);
  });

  it('classifies a run that printed nothing as EXEC_EMPTY_OUTPUT, whatever its exit status', async () => {
    const zero = await new ClaudeExecutor().run(request({ cwd, prompt: 'p', env: stubEnv('empty') }).req);
    expect(zero.failure).toMatchObject({ code: 'EXEC_EMPTY_OUTPUT', retryable: true });
    const failed = await new ClaudeExecutor().run(
      request({ cwd, prompt: 'p', env: stubEnv('empty', { STUB_CLAUDE_EXIT: '1', STUB_CLAUDE_STDERR: 'Error: something broke\n' }) }).req,
    );
    expect(failed.failure?.code).toBe('EXEC_EMPTY_OUTPUT');
    expect(failed.failure?.message).toContain('something broke');
    expect(failed.exit_code).toBe(1);
  });

  it('classifies a usage-limit result as EXEC_USAGE_LIMIT, retryable after the reset it names', async () => {
    const res = await new ClaudeExecutor().run(request({ cwd, prompt: 'p', env: stubEnv('usage-limit') }).req);
    expect(res.failure).toMatchObject({ code: 'EXEC_USAGE_LIMIT', retryable: true, retry_after: 1_767_225_600_000 });
  });

  it('finds a usage limit announced on stderr with a wall-clock reset time', async () => {
    const env = stubEnv('empty', { STUB_CLAUDE_EXIT: '1', STUB_CLAUDE_STDERR: 'Claude usage limit reached. Your limit will reset at 3pm.\n' });
    const before = Date.now();
    const res = await new ClaudeExecutor().run(request({ cwd, prompt: 'p', env }).req);
    expect(res.failure?.code).toBe('EXEC_USAGE_LIMIT');
    const at = new Date(res.failure!.retry_after!);
    expect([at.getHours(), at.getMinutes(), at.getSeconds()]).toEqual([15, 0, 0]);
    expect(at.getTime()).toBeGreaterThan(before);
    expect(at.getTime() - before).toBeLessThanOrEqual(24 * 3600_000);
  });

  it('reports a stream without a result as EXEC_PROTOCOL, or EXEC_EXIT_NONZERO when claude failed', async () => {
    const clean = await new ClaudeExecutor().run(request({ cwd, prompt: 'p', env: stubEnv('no-result') }).req);
    expect(clean.failure?.code).toBe('EXEC_PROTOCOL');
    const failed = await new ClaudeExecutor().run(request({ cwd, prompt: 'p', env: stubEnv('no-result', { STUB_CLAUDE_EXIT: '2' }) }).req);
    expect(failed.failure?.code).toBe('EXEC_EXIT_NONZERO');
    expect(failed.exit_code).toBe(2);
  });

  it('on cancel kills claude and everything it started', async () => {
    const ac = new AbortController();
    const { req } = request({ cwd, prompt: 'p', signal: ac.signal, env: stubEnv('no-result', { STUB_CLAUDE_HANG: '1' }) });
    const running = new ClaudeExecutor({ killGraceMs: 500 }).run(req);
    await waitFor(() => existsSync(recordFile), 10_000, 'the stub to start');
    const rec = await recorded();
    ac.abort();
    const res = await running;
    expect(res.failure).toMatchObject({ code: 'EXEC_CANCELLED' });
    await waitGone(rec.pid);
    await waitGone(rec.grandchild!);
  });

  it('times out a run that does not finish', async () => {
    const env = stubEnv('no-result', { STUB_CLAUDE_HANG: '1' });
    const res = await new ClaudeExecutor({ killGraceMs: 500 }).run(request({ cwd, prompt: 'p', env, timeoutMs: 500 }).req);
    expect(res.failure).toMatchObject({ code: 'EXEC_TIMEOUT', retryable: true });
    await waitGone((await recorded()).grandchild);
  });

  it('reports a missing binary as EXEC_UNAVAILABLE, and refuses a request without a prompt', async () => {
    const missing = await new ClaudeExecutor({ bin: join(cwd, 'no-claude') }).run(request({ cwd, prompt: 'p' }).req);
    expect(missing.failure).toMatchObject({ code: 'EXEC_UNAVAILABLE' });
    const noPrompt = await new ClaudeExecutor().run(request({ cwd, env: stubEnv('success') }).req);
    expect(noPrompt.failure?.code).toBe('EXEC_BAD_REQUEST');
    expect(existsSync(recordFile)).toBe(false);
  });

  it('describes itself from claude --version', async () => {
    const env = { ...process.env, PATH: `${STUB_DIR}:${process.env.PATH ?? ''}` };
    const info = await new ClaudeExecutor({ env, models: ['sonnet', 'opus'] }).describe();
    expect(info).toEqual({ name: 'claude', available: true, models: ['sonnet', 'opus'], detail: '1.0.99 (Claude Code); logged in (claude.ai)' });
    const none = await new ClaudeExecutor({ bin: join(cwd, 'no-claude') }).describe();
    expect(none).toMatchObject({ available: false, detail: expect.stringContaining('not found') });
    // Installed but not logged in (`claude auth status` exits 1 with loggedIn false): unavailable, saying why.
    const out = await new ClaudeExecutor({ env: { ...env, STUB_CLAUDE_LOGGED_OUT: '1' }, models: ['sonnet'] }).describe();
    expect(out).toMatchObject({ available: false, models: [], detail: expect.stringMatching(/not logged in.*\/login/) });
  });
});

describe('usage-limit parsing', () => {
  const now = Date.UTC(2025, 5, 15, 12, 0, 0); // 2025-06-15 12:00 UTC

  it('reads an epoch after the pipe, in seconds or milliseconds', () => {
    expect(parseReset('Claude AI usage limit reached|1767225600', now)).toBe(1_767_225_600_000);
    expect(parseReset('Claude AI usage limit reached|1767225600123', now)).toBe(1_767_225_600_123);
  });

  it('reads a wall-clock reset in a named time zone, today or tomorrow', () => {
    // 15:00 in New York on 2025-06-15 is 19:00 UTC (EDT, UTC-4): later today.
    expect(parseReset('usage limit reached ∙ resets 3pm (America/New_York)', now)).toBe(Date.UTC(2025, 5, 15, 19, 0));
    // 11:30 UTC has passed at 12:00 UTC: tomorrow.
    expect(parseReset("You've hit your limit · resets 11:30am (UTC)", now)).toBe(Date.UTC(2025, 5, 16, 11, 30));
    expect(parseReset('5-hour limit reached ∙ resets 12am (Europe/Berlin)', now)).toBe(Date.UTC(2025, 5, 15, 22, 0));
    // Winter: New York is UTC-5.
    const winter = Date.UTC(2025, 0, 10, 12, 0);
    expect(parseReset('limit reached, resets at 3pm (America/New_York)', winter)).toBe(Date.UTC(2025, 0, 10, 20, 0));
  });

  it('uses the host zone without a named zone, and ignores nonsense times', () => {
    const expected = new Date(now);
    expected.setHours(15, 0, 0, 0);
    if (expected.getTime() <= now) expected.setDate(expected.getDate() + 1);
    expect(parseReset('usage limit reached ... resets at 3pm', now)).toBe(expected.getTime());
    expect(nextWallClock(15, 0, 'Not/AZone', now)).toBe(expected.getTime());
    expect(parseReset('usage limit reached, resets 13pm', now)).toBeUndefined();
    expect(parseReset('usage limit reached', now)).toBeUndefined();
  });

  it('detects limit messages among other texts and ignores ordinary ones', () => {
    expect(detectUsageLimit(['all good', undefined, 'line one\nClaude AI usage limit reached|1767225600\n'], now)).toEqual({
      message: 'Claude AI usage limit reached|1767225600',
      retryAfter: 1_767_225_600_000,
    });
    expect(detectUsageLimit(['The API rate is fine', 'reached the end of the file'], now)).toBeNull();
  });
});
