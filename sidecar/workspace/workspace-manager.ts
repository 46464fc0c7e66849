/**
 * Git workspaces for tasks, over several repositories. For a task it fetches the repository,
 * makes a worktree on a fresh branch `task/<id>-<slug>` from the remote's current tip of the
 * default branch (a task never works on the default branch itself), hands that folder to the
 * executor, submits the work (commit, push, PR) and removes the worktree when the task ends.
 *
 * Folders: `<worktreesRoot>/<repo>/<task id>` for repo tasks and `<worktreesRoot>/_scratch/<task id>`
 * for tasks without a repo (repo names cannot start with `_`, so the two never collide). After a
 * crash, {@link WorkspaceManager.cleanOrphans} removes what is left there.
 *
 * Git commands that touch a repository's shared state (fetch, worktree add/remove, push) run one
 * at a time per repository; see keyed-lock.ts.
 */
import { mkdir, readdir, realpath, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Task } from '../../shared/task.js';
import { branchName, safeId } from './branch-name.js';
import { resolveRepo, resolveWorkspaceOptions, type RepoConfig, type ResolvedRepo, type WorkspaceOptions } from './config.js';
import { sidecarError } from './errors.js';
import { Git } from './git.js';
import { KeyedLock } from './keyed-lock.js';
import { submitWork, type SubmitInfo, type SubmitResult } from './submit.js';

/** A task's prepared workspace. */
export interface TaskWorkspace {
  taskId: string;
  /** The folder executors and checks work in. */
  path: string;
  /** The repository, or null for a scratch folder (a task without a repo). */
  repo: ResolvedRepo | null;
  /** The task's branch; null for a scratch folder. */
  branch: string | null;
  /** The commit the branch started from; null for a scratch folder. */
  baseCommit: string | null;
  /** The repository's test command, for `test_passes` steps that name none. */
  testCommand: string | null;
  /**
   * A guardian's workspace: the default branch's tip the implementation is compared with (its
   * worktree starts at the implementation's commit); null otherwise.
   */
  reviewBase: string | null;
}

const SCRATCH = '_scratch';

export class WorkspaceManager {
  readonly opts: Readonly<WorkspaceOptions>;
  private readonly repos = new Map<string, ResolvedRepo>();
  /** The names `setHubRepos` added (the rest are the config's). */
  private readonly fromHub = new Set<string>();
  private readonly git: Git;
  private readonly lock = new KeyedLock();
  private readonly active = new Map<string, TaskWorkspace>();
  private readonly log: Logger;
  private rootReal: string | null = null;

  constructor(opts: Partial<WorkspaceOptions> & { repos: RepoConfig[] }, logger?: Logger) {
    this.opts = resolveWorkspaceOptions(opts);
    for (const r of this.opts.repos) this.repos.set(r.name, resolveRepo(r, this.opts.cacheDir));
    this.git = new Git({ bin: this.opts.git, env: this.opts.env, timeoutMs: this.opts.gitTimeoutMs });
    this.log = logger ?? pino({ enabled: false });
  }

  /**
   * Replaces the repos taken from the hub's registry (sidecar/hub-repos.ts) with `entries`; the
   * configured ones stay as they are (they win for the same name). Validated as the config is.
   */
  setHubRepos(entries: RepoConfig[]): void {
    const checked = resolveWorkspaceOptions({ ...this.opts, repos: entries });
    for (const name of this.fromHub) this.repos.delete(name);
    this.fromHub.clear();
    for (const r of checked.repos) {
      if (this.repos.has(r.name)) continue;
      this.repos.set(r.name, resolveRepo(r, this.opts.cacheDir));
      this.fromHub.add(r.name);
    }
  }

  /** Names of the repositories this host can work on (for hello and routing). */
  repoNames(): string[] {
    return [...this.repos.keys()];
  }

  hasRepo(name: string): boolean {
    return this.repos.has(name);
  }

  repo(name: string): ResolvedRepo | undefined {
    return this.repos.get(name);
  }

  /**
   * Makes the task's workspace. A task with a repo this host lacks is refused with
   * SIDECAR_REPO_UNKNOWN; a task already active here with SIDECAR_WORKSPACE_BUSY.
   */
  async prepare(task: Pick<Task, 'id' | 'title' | 'repo'> & { guardian?: Task['guardian'] }, signal?: AbortSignal): Promise<TaskWorkspace> {
    if (this.active.has(task.id)) throw busy(task.id);
    if (task.repo === null || task.repo === undefined) return this.prepareScratch(task.id);
    const repo = this.repos.get(task.repo);
    if (!repo) {
      const known = this.repoNames();
      throw sidecarError('SIDECAR_REPO_UNKNOWN', `this host has no repository '${task.repo}'`, { repo: task.repo, known });
    }
    const ws: TaskWorkspace = {
      taskId: task.id,
      path: join(await this.root(), repo.name, safeId(task.id)),
      repo,
      branch: branchName(task.id, task.title),
      baseCommit: null,
      testCommand: repo.test_command,
      reviewBase: null,
    };
    this.claim(ws);
    try {
      await this.lock.run(repo.name, async () => {
        await this.ensureClone(repo, signal);
        const net = { cwd: repo.dir, timeoutMs: this.opts.networkTimeoutMs, signal };
        await this.git.run(['fetch', '--prune', repo.remote], net);
        const tip = `refs/remotes/${repo.remote}/${repo.default_branch}^{commit}`;
        ws.baseCommit = await this.git.run(['rev-parse', '--verify', tip], { cwd: repo.dir });
        // A guardian works on the implementation it guards: from its commit, compared with the tip.
        const work = task.guardian ? await this.guardedWork(repo, task.guardian) : null;
        if (work) {
          ws.reviewBase = ws.baseCommit;
          ws.baseCommit = work;
        }
        // A folder left by a crashed run of this same task: its work is lost either way.
        await this.removeWorktree(repo, ws.path, ws.branch);
        await mkdir(dirname(ws.path), { recursive: true });
        // -B: a retry of the task on this host starts its branch afresh from the current tip.
        await this.git.run(['worktree', 'add', '--no-track', '-B', ws.branch!, ws.path, ws.baseCommit], { cwd: repo.dir });
      });
    } catch (err) {
      this.active.delete(task.id);
      throw err;
    }
    this.log.info({ task_id: task.id, repo: repo.name, branch: ws.branch, base: ws.baseCommit }, 'workspace prepared');
    return ws;
  }

  /**
   * The implementation's commit as this clone knows it after the fetch: the exact commit the
   * guardian was given, else its branch's tip; null (the guardian starts from the default branch,
   * and says so) when neither is here, e.g. work that was never pushed.
   */
  private async guardedWork(repo: ResolvedRepo, link: NonNullable<Task['guardian']>): Promise<string | null> {
    const candidates = [link.commit ? `${link.commit}^{commit}` : null, link.branch ? `refs/remotes/${repo.remote}/${link.branch}^{commit}` : null];
    for (const ref of candidates) {
      if (!ref) continue;
      try {
        return await this.git.run(['rev-parse', '--verify', '--quiet', ref], { cwd: repo.dir });
      } catch {
        // not here: try the next
      }
    }
    this.log.warn({ repo: repo.name, branch: link.branch, commit: link.commit, target: link.target }, 'the guarded work is not in this clone; the guardian starts from the default branch');
    return null;
  }

  /**
   * Commits everything in the worktree, pushes the branch and opens a PR when gh can.
   * See submit.ts.
   */
  async submit(ws: TaskWorkspace, info: SubmitInfo, signal?: AbortSignal): Promise<SubmitResult> {
    if (!ws.repo || !ws.branch || !ws.baseCommit) {
      throw sidecarError('SIDECAR_GIT_FAILED', 'a scratch workspace has nothing to submit', { task_id: ws.taskId });
    }
    const repo = ws.repo;
    const result = await submitWork(
      { git: this.git, opts: this.opts, withRepoLock: (fn) => this.lock.run(repo.name, fn) },
      { path: ws.path, repo, branch: ws.branch, baseCommit: ws.baseCommit },
      info,
      signal,
    );
    this.log.info(
      { task_id: ws.taskId, branch: result.branch, commit: result.commit, pushed: result.pushed, pr_url: result.pr_url },
      'work submitted',
    );
    if (result.pr_error) this.log.warn({ task_id: ws.taskId, err: result.pr_error }, 'pull request not opened');
    return result;
  }

  /** Removes the task's worktree and its local branch (the pushed branch stays on the remote). */
  async release(ws: TaskWorkspace): Promise<void> {
    try {
      if (ws.repo) {
        const repo = ws.repo;
        await this.lock.run(repo.name, () => this.removeWorktree(repo, ws.path, ws.branch));
      } else {
        await rm(ws.path, { recursive: true, force: true });
      }
    } finally {
      if (this.active.get(ws.taskId) === ws) this.active.delete(ws.taskId);
    }
  }

  /**
   * Removes worktrees and folders a crash left under the worktrees root (all but those of tasks
   * active in this process), prunes git's records of vanished worktrees, and deletes their local
   * task branches. Call it at start, before taking tasks. Returns the folders removed.
   */
  async cleanOrphans(): Promise<string[]> {
    const root = await this.root();
    const activePaths = new Set([...this.active.values()].map((w) => w.path));
    const removed: string[] = [];
    for (const repo of this.repos.values()) {
      if (!(await isDir(repo.dir))) continue; // a url repo not cloned yet has no worktrees
      await this.lock.run(repo.name, async () => {
        const mine = join(root, repo.name);
        // Listed before any prune: a worktree whose folder vanished is still listed then, with
        // its branch, which must go too.
        for (const wt of await this.worktrees(repo)) {
          if (relative(mine, wt.path).startsWith('..') || wt.path === mine || activePaths.has(wt.path)) continue;
          await this.removeWorktree(repo, wt.path, wt.branch);
          removed.push(wt.path);
        }
        for (const name of await listDir(mine)) {
          const path = join(mine, name);
          if (activePaths.has(path) || removed.includes(path)) continue;
          await rm(path, { recursive: true, force: true });
          removed.push(path);
        }
        await this.git.run(['worktree', 'prune'], { cwd: repo.dir });
      });
    }
    const scratch = join(root, SCRATCH);
    for (const name of await listDir(scratch)) {
      const path = join(scratch, name);
      if (activePaths.has(path)) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    }
    if (removed.length > 0) this.log.info({ removed }, 'orphan workspaces removed');
    return removed;
  }

  private async prepareScratch(taskId: string): Promise<TaskWorkspace> {
    const ws: TaskWorkspace = {
      taskId,
      path: join(await this.root(), SCRATCH, safeId(taskId)),
      repo: null,
      branch: null,
      baseCommit: null,
      testCommand: null,
      reviewBase: null,
    };
    this.claim(ws);
    try {
      await rm(ws.path, { recursive: true, force: true });
      await mkdir(ws.path, { recursive: true });
    } catch (err) {
      this.active.delete(taskId);
      throw err;
    }
    return ws;
  }

  /**
   * Marks the workspace as in use, with no await between the check and the mark, so that two
   * concurrent prepares of one task cannot both pass. Two ids that sanitise to the same folder
   * collide too.
   */
  private claim(ws: TaskWorkspace): void {
    if (this.active.has(ws.taskId) || [...this.active.values()].some((w) => w.path === ws.path)) throw busy(ws.taskId);
    this.active.set(ws.taskId, ws);
  }

  /** The worktrees root, created if needed, as a real path (git records real paths). */
  private async root(): Promise<string> {
    if (this.rootReal === null) {
      await mkdir(this.opts.worktreesRoot, { recursive: true });
      this.rootReal = await realpath(this.opts.worktreesRoot);
    }
    return this.rootReal;
  }

  /** Clones a `url` repository into the cache on first use. */
  private async ensureClone(repo: ResolvedRepo, signal?: AbortSignal): Promise<void> {
    if (repo.url === null || (await isDir(join(repo.dir, '.git')))) return;
    await rm(repo.dir, { recursive: true, force: true }); // a clone interrupted half-way
    await mkdir(dirname(repo.dir), { recursive: true });
    // --no-checkout: the cache clone is only a home for worktrees; its own checkout is never used.
    await this.git.run(['clone', '--no-checkout', '--origin', repo.remote, repo.url, repo.dir], {
      cwd: dirname(repo.dir),
      timeoutMs: this.opts.networkTimeoutMs,
      signal,
    });
  }

  private async removeWorktree(repo: ResolvedRepo, path: string, branch: string | null): Promise<void> {
    // Twice --force: also removes a worktree that is locked or has changes.
    await this.git.try(['worktree', 'remove', '--force', '--force', path], { cwd: repo.dir });
    await rm(path, { recursive: true, force: true });
    await this.git.try(['worktree', 'prune'], { cwd: repo.dir });
    if (branch?.startsWith('task/')) await this.git.try(['branch', '-D', branch], { cwd: repo.dir });
  }

  private async worktrees(repo: ResolvedRepo): Promise<Array<{ path: string; branch: string | null }>> {
    const out = await this.git.run(['worktree', 'list', '--porcelain'], { cwd: repo.dir });
    const list: Array<{ path: string; branch: string | null }> = [];
    for (const block of out.split(/\n\n+/)) {
      const path = /^worktree (.+)$/m.exec(block)?.[1];
      if (!path) continue;
      const ref = /^branch refs\/heads\/(.+)$/m.exec(block)?.[1] ?? null;
      list.push({ path: await realpath(path).catch(() => path), branch: ref });
    }
    return list;
  }
}

function busy(taskId: string): Error {
  return sidecarError('SIDECAR_WORKSPACE_BUSY', `task ${taskId} already has a workspace here`, { task_id: taskId });
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

async function listDir(path: string): Promise<string[]> {
  return readdir(path).catch(() => []);
}
