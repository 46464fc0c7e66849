import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCheck, runChecks } from '../../sidecar/verify/run-checks.js';
import type { CheckContext } from '../../sidecar/verify/types.js';
import { GIT_ENV, initRepo } from './git-helpers.js';
import { tempDir } from './helpers.js';

let base: string;
let repo: string;
let ctx: CheckContext;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: base, cleanup } = await tempDir());
  repo = join(base, 'repo');
  await initRepo(repo, { 'README.md': '# r\n', 'src/sum.js': 'export const sum = (a, b) => a + b;\n', '.gitignore': 'build/\n' });
  ctx = { cwd: repo, env: GIT_ENV };
});
afterEach(async () => cleanup());

describe('file_exists', () => {
  it('passes for a file or folder in the worktree and fails for a missing one', async () => {
    expect(await runCheck({ type: 'file_exists', path: 'src/sum.js' }, ctx)).toMatchObject({ type: 'file_exists', passed: true, target: 'src/sum.js' });
    expect((await runCheck({ type: 'file_exists', path: 'src' }, ctx)).passed).toBe(true);
    const missing = await runCheck({ type: 'file_exists', path: 'src/nope.js' }, ctx);
    expect(missing).toMatchObject({ passed: false, output_tail: 'src/nope.js does not exist' });
  });

  it('fails for paths that lead outside the worktree, even when the target exists', async () => {
    await writeFile(join(base, 'outside.txt'), 'x');
    await symlink(join(base, 'outside.txt'), join(repo, 'link'));
    for (const path of ['../outside.txt', join(base, 'outside.txt'), 'link', 'src/../../outside.txt']) {
      const r = await runCheck({ type: 'file_exists', path }, ctx);
      expect(r.passed, path).toBe(false);
      expect(r.output_tail).toContain('refused');
    }
  });
});

describe('command checks', () => {
  it('test_passes runs the step command in the worktree; exit 0 passes', async () => {
    const r = await runCheck({ type: 'test_passes', command: 'test -f src/sum.js && echo tests ok' }, ctx);
    expect(r).toMatchObject({ type: 'test_passes', passed: true, exit_code: 0, output_tail: 'tests ok\n', target: 'test -f src/sum.js && echo tests ok' });
  });

  it('a failing test reports its exit status and the end of its output', async () => {
    const r = await runCheck({ type: 'test_passes', command: 'echo "expected 5, got 6" >&2; exit 1' }, ctx);
    expect(r.passed).toBe(false);
    expect(r.exit_code).toBe(1);
    expect(r.output_tail).toContain('expected 5, got 6');
    expect(r.output_tail).toContain('[exit 1]');
  });

  it('test_passes without a command uses the repo test command, and fails when there is none', async () => {
    const configured = await runCheck({ type: 'test_passes' }, { ...ctx, testCommand: 'echo from-config' });
    expect(configured).toMatchObject({ passed: true, target: 'echo from-config', output_tail: 'from-config\n' });
    const none = await runCheck({ type: 'test_passes' }, ctx);
    expect(none.passed).toBe(false);
    expect(none.output_tail).toContain('no test command');
  });

  it('command_succeeds honours timeout_ms and kills the command', async () => {
    const r = await runCheck({ type: 'command_succeeds', command: 'sleep 30', timeout_ms: 200 }, ctx);
    expect(r).toMatchObject({ type: 'command_succeeds', passed: false, exit_code: null });
    expect(r.output_tail).toContain('[timed out after 200 ms]');
  });

  it('keeps only the tail of a long output', async () => {
    const r = await runCheck(
      { type: 'command_succeeds', command: `node -e "console.log('x'.repeat(50000)); console.log('LAST')"` },
      { ...ctx, tailBytes: 1000 },
    );
    expect(r.passed).toBe(true);
    expect(Buffer.byteLength(r.output_tail)).toBe(1000);
    expect(r.output_tail.endsWith('LAST\n')).toBe(true);
  });
});

describe('git_clean', () => {
  it('passes on a clean worktree and for ignored files', async () => {
    await mkdir(join(repo, 'build'));
    await writeFile(join(repo, 'build/out.js'), 'x');
    expect(await runCheck({ type: 'git_clean' }, ctx)).toMatchObject({ type: 'git_clean', passed: true });
  });

  it('passes for work the commit will hold (a modified and a new file), and lists it', async () => {
    await writeFile(join(repo, 'README.md'), 'changed\n');
    await writeFile(join(repo, 'new.txt'), 'x');
    const r = await runCheck({ type: 'git_clean' }, ctx);
    expect(r.passed).toBe(true);
    expect(r.output_tail).toContain('M README.md');
    expect(r.output_tail).toContain('?? new.txt');
  });

  it('fails on what the commit cannot hold: a nested repository, named', async () => {
    await writeFile(join(repo, 'new.txt'), 'x');
    await mkdir(join(repo, 'vendor/lib'), { recursive: true });
    execFileSync('git', ['init', '-q'], { cwd: join(repo, 'vendor/lib'), env: GIT_ENV });
    const r = await runCheck({ type: 'git_clean' }, ctx);
    expect(r.passed).toBe(false);
    expect(r.output_tail).toContain('nested repositories');
    expect(r.output_tail).toContain('vendor/lib/');
  });

  it('fails outside a git repository', async () => {
    const plain = join(base, 'plain');
    await mkdir(plain);
    const r = await runCheck({ type: 'git_clean' }, { ...ctx, cwd: plain, env: { ...GIT_ENV, GIT_CEILING_DIRECTORIES: base } });
    expect(r.passed).toBe(false);
    expect(r.output_tail).toContain('git status failed');
  });
});

describe('runChecks', () => {
  it('runs every step and passes only when all pass', async () => {
    const report = await runChecks(
      [
        { type: 'file_exists', path: 'README.md' },
        { type: 'command_succeeds', command: 'exit 2' },
        { type: 'git_clean' },
      ],
      ctx,
    );
    expect(report.passed).toBe(false);
    expect(report.checks.map((c) => [c.type, c.passed])).toEqual([
      ['file_exists', true],
      ['command_succeeds', false],
      ['git_clean', true],
    ]);
    for (const c of report.checks) expect(c.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('passes with every step passing, and vacuously with no steps', async () => {
    expect((await runChecks([{ type: 'file_exists', path: 'README.md' }, { type: 'git_clean' }], ctx)).passed).toBe(true);
    expect(await runChecks([], ctx)).toMatchObject({ passed: true, checks: [] });
  });

  it('fails a step of an unknown type instead of skipping it', async () => {
    const report = await runChecks([{ type: 'lint_passes' } as never], ctx);
    expect(report.passed).toBe(false);
    expect(report.checks[0]!.output_tail).toContain("unknown check type 'lint_passes'");
  });

  it('on cancel stops the running step and reports the rest as not run', async () => {
    const ac = new AbortController();
    const running = runChecks(
      [
        { type: 'command_succeeds', command: 'sleep 30' },
        { type: 'file_exists', path: 'README.md' },
      ],
      { ...ctx, signal: ac.signal },
    );
    setTimeout(() => ac.abort(), 100);
    const report = await running;
    expect(report.passed).toBe(false);
    expect(report.checks[0]!.output_tail).toContain('[cancelled]');
    expect(report.checks[1]).toMatchObject({ passed: false, output_tail: 'not run: cancelled' });
  });
});
