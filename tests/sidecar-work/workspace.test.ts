import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SwitchyardError } from '../../shared/errors.js';
import { branchName, slugify } from '../../sidecar/workspace/branch-name.js';
import { intendedCode } from '../../sidecar/workspace/errors.js';
import { redactUrlCredentials } from '../../sidecar/workspace/redact.js';
import { webBranchUrl } from '../../sidecar/workspace/submit.js';
import { WorkspaceManager } from '../../sidecar/workspace/workspace-manager.js';
import type { WorkspaceOptions, RepoConfig } from '../../sidecar/workspace/config.js';
import { git, GIT_ENV, remoteAndClone } from './git-helpers.js';
import { tempDir } from './helpers.js';

/** Env of the manager: no global or system git config, and no identity from the environment. */
const { GIT_AUTHOR_NAME: _a, GIT_AUTHOR_EMAIL: _b, GIT_COMMITTER_NAME: _c, GIT_COMMITTER_EMAIL: _d, ...BARE_ENV } = GIT_ENV;

let root: string;
let remote: string;
let clone: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir());
  ({ remote, clone } = await remoteAndClone(root, { 'README.md': '# demo\n', 'src/app.js': 'export const v = 1;\n' }));
});
afterEach(async () => cleanup());

function manager(over: Partial<WorkspaceOptions> = {}, repo: Partial<RepoConfig> = {}): WorkspaceManager {
  return new WorkspaceManager({
    repos: [{ name: 'demo', path: clone, default_branch: 'main', test_command: 'npm test', ...repo }],
    worktreesRoot: join(root, 'worktrees'),
    cacheDir: join(root, 'cache'),
    env: BARE_ENV,
    gh: join(root, 'no-gh-here'),
    ...over,
  });
}

const task = (id: string, title = 'Fix the widget') => ({ id, title, repo: 'demo' as string | null });

async function expectCode(p: Promise<unknown>, code: string): Promise<SwitchyardError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SwitchyardError);
  expect(intendedCode(err)).toBe(code);
  return err as SwitchyardError;
}

describe('WorkspaceManager.prepare', () => {
  it('makes a worktree on task/<id>-<slug> from the remote tip of the default branch, leaving the clone alone', async () => {
    // The remote moves on after the clone was made: the task must start from the new tip.
    await git(join(root, 'seed'), 'commit', '-q', '--allow-empty', '-m', 'newer');
    await git(join(root, 'seed'), 'push', '-q', remote, 'main');
    const tip = await git(remote, 'rev-parse', 'main');
    const cloneHead = await git(clone, 'rev-parse', 'HEAD');
    expect(cloneHead).not.toBe(tip);

    const ws = await manager().prepare(task('01J9ZABC', 'Fix the Widget: résumé upload!'));
    expect(ws.path).toBe(join(root, 'worktrees', 'demo', '01J9ZABC'));
    expect(ws.branch).toBe('task/01J9ZABC-fix-the-widget-resume-upload');
    expect(ws.baseCommit).toBe(tip);
    expect(ws.testCommand).toBe('npm test');
    expect(await git(ws.path, 'rev-parse', 'HEAD')).toBe(tip);
    expect(await git(ws.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(ws.branch);
    expect(await readFile(join(ws.path, 'src/app.js'), 'utf8')).toBe('export const v = 1;\n');
    // The user's clone: same checkout, same HEAD.
    expect(await git(clone, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    expect(await git(clone, 'rev-parse', 'HEAD')).toBe(cloneHead);
  });

  it('refuses a repo this host lacks with SIDECAR_REPO_UNKNOWN', async () => {
    const err = await expectCode(manager().prepare({ id: 't1', title: 'x', repo: 'other' }), 'SIDECAR_REPO_UNKNOWN');
    expect(err.code).toBe('SIDECAR_REPO_UNKNOWN');
    expect(err.details).toMatchObject({ repo: 'other', known: ['demo'] });
  });

  it('refuses a second workspace for a task that has one', async () => {
    const m = manager();
    await m.prepare(task('t1'));
    await expectCode(m.prepare(task('t1')), 'SIDECAR_WORKSPACE_BUSY');
  });

  it('prepares several tasks of one repo at once', async () => {
    const m = manager();
    const all = await Promise.all(['a1', 'a2', 'a3', 'a4'].map((id) => m.prepare(task(id))));
    expect(new Set(all.map((w) => w.path)).size).toBe(4);
    for (const w of all) expect(await git(w.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(w.branch);
  });

  it('gives a task without a repo an empty scratch folder', async () => {
    const m = manager();
    const ws = await m.prepare({ id: 's1', title: 'script', repo: null });
    expect(ws).toMatchObject({ repo: null, branch: null, path: join(root, 'worktrees', '_scratch', 's1') });
    expect(existsSync(ws.path)).toBe(true);
    await m.release(ws);
    expect(existsSync(ws.path)).toBe(false);
  });

  it('clones a url repository into the cache on first use', async () => {
    const m = new WorkspaceManager({
      repos: [{ name: 'remote-only', url: remote }],
      worktreesRoot: join(root, 'worktrees'),
      cacheDir: join(root, 'cache'),
      env: BARE_ENV,
      gh: join(root, 'no-gh-here'),
    });
    const ws = await m.prepare({ id: 'u1', title: 'From url', repo: 'remote-only' });
    expect(existsSync(join(root, 'cache', 'remote-only', '.git'))).toBe(true);
    expect(await git(ws.path, 'rev-parse', 'HEAD')).toBe(await git(remote, 'rev-parse', 'main'));
    await writeFile(join(ws.path, 'new.txt'), 'x\n');
    const sub = await m.submit(ws, { taskId: 'u1', title: 'From url' });
    expect(await git(remote, 'rev-parse', `refs/heads/${ws.branch}`)).toBe(sub.commit);
  });
});

describe('WorkspaceManager.submit', () => {
  it('commits all changes naming the task, pushes the branch to the remote, and reports the branch without gh', async () => {
    const m = manager();
    const ws = await m.prepare(task('01J9ZDEF', 'Add greeting'));
    await writeFile(join(ws.path, 'src/app.js'), 'export const v = 2;\n');
    await mkdir(join(ws.path, 'docs'));
    await writeFile(join(ws.path, 'docs/greeting.md'), 'hello\n');

    const res = await m.submit(ws, { taskId: '01J9ZDEF', title: 'Add greeting' });
    expect(res).toMatchObject({ branch: ws.branch, changed: true, pushed: true, pr_url: null, url: `${remote}#${ws.branch}` });
    expect(res.commit).toMatch(/^[0-9a-f]{40}$/);
    // The bare remote has the branch at that commit, with both files, on top of main.
    expect(await git(remote, 'rev-parse', `refs/heads/${ws.branch}`)).toBe(res.commit);
    expect(await git(remote, 'show', `${res.commit}:docs/greeting.md`)).toBe('hello');
    expect(await git(remote, 'rev-parse', `${res.commit}^`)).toBe(ws.baseCommit);
    const message = await git(remote, 'log', '-1', '--format=%B', res.commit);
    expect(message).toContain('Add greeting');
    expect(message).toContain('01J9ZDEF');
    // No identity configured anywhere: the Switchyard fallback signs the commit.
    expect(await git(remote, 'log', '-1', '--format=%an <%ae>', res.commit)).toBe('Switchyard <switchyard@localhost>');
    // main on the remote did not move.
    expect(await git(remote, 'rev-parse', 'main')).toBe(ws.baseCommit);
  });

  it('uses the configured commit author', async () => {
    const m = manager({ commitAuthor: { name: 'Agent Smith', email: 'smith@example.invalid' } });
    const ws = await m.prepare(task('t2'));
    await writeFile(join(ws.path, 'a.txt'), 'a');
    const res = await m.submit(ws, { taskId: 't2', title: 'x' });
    expect(await git(remote, 'log', '-1', '--format=%an <%ae>', res.commit)).toBe('Agent Smith <smith@example.invalid>');
  });

  it('pushes nothing when the work changed nothing', async () => {
    const m = manager();
    const ws = await m.prepare(task('t3'));
    const res = await m.submit(ws, { taskId: 't3', title: 'noop' });
    expect(res).toMatchObject({ changed: false, pushed: false, commit: ws.baseCommit, url: null });
    expect(await git(remote, 'branch', '--list', ws.branch!)).toBe('');
  });

  it('a retry of the task replaces its earlier branch, but never a change pushed by someone else since the fetch', async () => {
    const m = manager();
    const first = await m.prepare(task('t4'));
    await writeFile(join(first.path, 'a.txt'), 'first attempt');
    await m.submit(first, { taskId: 't4', title: 'x' });
    await m.release(first);

    const second = await m.prepare(task('t4'));
    expect(await git(second.path, 'rev-parse', 'HEAD')).toBe(second.baseCommit); // fresh from main
    await writeFile(join(second.path, 'a.txt'), 'second attempt');
    const res = await m.submit(second, { taskId: 't4', title: 'x' });
    expect(await git(remote, 'show', `refs/heads/${second.branch}:a.txt`)).toBe('second attempt');
    await m.release(second);

    const third = await m.prepare(task('t4'));
    // Someone pushes to the task branch after our fetch.
    const other = join(root, 'other');
    await git(root, 'clone', '-q', remote, other);
    await git(other, 'checkout', '-q', third.branch!);
    await writeFile(join(other, 'b.txt'), 'human fix');
    await git(other, 'add', '-A');
    await git(other, 'commit', '-q', '-m', 'human');
    await git(other, 'push', '-q', 'origin', third.branch!);
    const humanTip = await git(other, 'rev-parse', 'HEAD');

    await writeFile(join(third.path, 'a.txt'), 'third attempt');
    await expectCode(m.submit(third, { taskId: 't4', title: 'x' }), 'SIDECAR_PUSH_REJECTED');
    expect(await git(remote, 'rev-parse', `refs/heads/${third.branch}`)).toBe(humanTip);
    expect(res.pushed).toBe(true);
  });

  it('opens a PR with gh when it is installed and logged in', async () => {
    const gh = join(root, 'bin', 'gh');
    const log = join(root, 'gh-calls.log');
    await mkdir(join(root, 'bin'));
    await writeFile(
      gh,
      `#!/bin/sh\necho "$*" >> '${log}'\nif [ "$1" = auth ]; then exit 0; fi\ncat > '${log}.body'\necho "Creating pull request"\necho "https://github.com/acme/demo/pull/42"\n`,
    );
    await chmod(gh, 0o755);
    const m = manager({ gh });
    const ws = await m.prepare(task('t5', 'Add PR'));
    await writeFile(join(ws.path, 'x.txt'), 'x');
    const res = await m.submit(ws, { taskId: 't5', title: 'Add PR', body: 'All checks passed.' });
    expect(res).toMatchObject({ pushed: true, pr_url: 'https://github.com/acme/demo/pull/42', url: 'https://github.com/acme/demo/pull/42' });
    const calls = (await readFile(log, 'utf8')).trim().split('\n');
    expect(calls[0]).toBe('auth status');
    expect(calls[1]).toBe(`pr create --base main --head ${ws.branch} --title Add PR --body-file -`);
    expect(await readFile(`${log}.body`, 'utf8')).toBe('All checks passed.');
  });

  it('reports the pushed branch when gh is not logged in, and the reason when gh fails', async () => {
    const gh = join(root, 'gh-out');
    await writeFile(gh, '#!/bin/sh\necho "You are not logged into any GitHub hosts" >&2\nexit 1\n');
    await chmod(gh, 0o755);
    const m = manager({ gh });
    const ws = await m.prepare(task('t6'));
    await writeFile(join(ws.path, 'x.txt'), 'x');
    const res = await m.submit(ws, { taskId: 't6', title: 'x' });
    expect(res).toMatchObject({ pushed: true, pr_url: null });
    expect(res.pr_error).toBeUndefined();

    const ghBroken = join(root, 'gh-broken');
    await writeFile(ghBroken, '#!/bin/sh\nif [ "$1" = auth ]; then exit 0; fi\necho "GraphQL: base branch not found" >&2\nexit 1\n');
    await chmod(ghBroken, 0o755);
    const m2 = manager({ gh: ghBroken });
    const ws2 = await m2.prepare(task('t7'));
    await writeFile(join(ws2.path, 'y.txt'), 'y');
    const res2 = await m2.submit(ws2, { taskId: 't7', title: 'y' });
    expect(res2).toMatchObject({ pushed: true, pr_url: null, pr_error: expect.stringContaining('base branch not found') });
  });
});

describe('WorkspaceManager.release and cleanOrphans', () => {
  it('release removes the worktree and the local branch, keeping the pushed one', async () => {
    const m = manager();
    const ws = await m.prepare(task('t8'));
    await writeFile(join(ws.path, 'x.txt'), 'x');
    await m.submit(ws, { taskId: 't8', title: 'x' });
    await m.release(ws);
    expect(existsSync(ws.path)).toBe(false);
    expect(await git(clone, 'worktree', 'list')).not.toContain(ws.path);
    expect(await git(clone, 'branch', '--list', ws.branch!)).toBe('');
    expect(await git(remote, 'branch', '--list', ws.branch!)).toContain(ws.branch!);
    // Released: the same task can have a workspace again.
    await m.prepare(task('t8'));
  });

  it('after a crash, cleanOrphans removes leftover worktrees, stray folders and scratch folders', async () => {
    const crashed = manager();
    const a = await crashed.prepare(task('c1'));
    const b = await crashed.prepare(task('c2'));
    const s = await crashed.prepare({ id: 'c3', title: 'scratch', repo: null });
    await writeFile(join(a.path, 'half-done.txt'), 'x');
    await mkdir(join(root, 'worktrees', 'demo', 'stray'));
    // b's folder vanished but git still lists it.
    await import('node:fs/promises').then((fs) => fs.rm(b.path, { recursive: true, force: true }));

    const restarted = manager();
    const removed = await restarted.cleanOrphans();
    expect(removed).toEqual(expect.arrayContaining([a.path, join(root, 'worktrees', 'demo', 'stray'), s.path]));
    for (const p of [a.path, b.path, s.path]) expect(existsSync(p)).toBe(false);
    const list = await git(clone, 'worktree', 'list', '--porcelain');
    expect(list).not.toContain(a.path);
    expect(list).not.toContain(b.path);
    expect(await git(clone, 'branch', '--list', 'task/*')).toBe('');
    // The clone itself is untouched and a new task works.
    expect(await git(clone, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    const fresh = await restarted.prepare(task('c1'));
    expect(existsSync(join(fresh.path, 'half-done.txt'))).toBe(false);
  });

  it('cleanOrphans keeps the workspaces of tasks active in this process', async () => {
    const m = manager();
    const live = await m.prepare(task('live'));
    expect(await m.cleanOrphans()).toEqual([]);
    expect(existsSync(live.path)).toBe(true);
  });
});

describe('configuration and names', () => {
  it('refuses invalid configuration with SIDECAR_CONFIG_INVALID naming the field', async () => {
    const bad = (repos: RepoConfig[], over: Partial<WorkspaceOptions> = {}) => () =>
      new WorkspaceManager({ repos, worktreesRoot: join(root, 'w'), cacheDir: join(root, 'c'), ...over });
    for (const [make, field] of [
      [bad([{ name: 'a', path: 'relative/path' }]), 'repos[0].path'],
      [bad([{ name: 'a', path: clone, url: remote }]), 'repos[0]'],
      [bad([{ name: 'a' }]), 'repos[0]'],
      [bad([{ name: 'a', path: clone }, { name: 'a', path: clone }]), 'repos[1].name'],
      [bad([{ name: '_x', path: clone }]), 'repos[0].name'],
      [bad([{ name: 'a', path: clone, default_branch: 'bad..name' }]), 'repos[0].default_branch'],
      [bad([], { worktreesRoot: 'rel' }), 'worktreesRoot'],
    ] as const) {
      let err: unknown;
      try {
        make();
      } catch (e) {
        err = e;
      }
      expect(intendedCode(err), field).toBe('SIDECAR_CONFIG_INVALID');
      expect((err as SwitchyardError).details).toMatchObject({ field });
    }
  });

  it('makes branch names that git accepts', async () => {
    expect(slugify('  Fix: the Widget (v2)!! ')).toBe('fix-the-widget-v2');
    expect(slugify('x'.repeat(100))).toHaveLength(40);
    expect(branchName('01J9', '???')).toBe('task/01J9');
    expect(branchName('a/b..c', 'Café au lait')).toBe('task/a-b-c-cafe-au-lait');
    for (const name of [branchName('01J9', 'Über-long title '.repeat(10)), branchName('id.with.dots', '-lead'), branchName('x', '日本語')]) {
      await git(root, 'check-ref-format', '--branch', name);
    }
  });

  it('redacts credentials in remote URLs and builds web links for GitHub-style remotes', () => {
    expect(redactUrlCredentials('fatal: https://user:ghp_SECRET@github.com/acme/demo.git not found')).toBe(
      'fatal: https://***@github.com/acme/demo.git not found',
    );
    expect(webBranchUrl('https://github.com/acme/demo.git', 'task/1-x')).toBe('https://github.com/acme/demo/tree/task/1-x');
    expect(webBranchUrl('git@github.com:acme/demo.git', 'task/1-x')).toBe('https://github.com/acme/demo/tree/task/1-x');
    expect(webBranchUrl('/srv/git/demo.git', 'task/1-x')).toBeNull();
  });
});
