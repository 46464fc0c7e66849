/**
 * Submits a task's work: commits everything in its worktree with a message naming the task,
 * pushes the task branch to the remote, and opens a pull request with the GitHub CLI when it is
 * installed and logged in (`gh auth status` succeeds). Without gh, the pushed branch is the
 * result. A PR that cannot be opened does not fail the submission: the work is pushed, and
 * `pr_error` says why there is no PR.
 */
import { runProcess } from '../executors/run-process.js';
import { FALLBACK_AUTHOR, type ResolvedRepo, type WorkspaceOptions } from './config.js';
import { sidecarError } from './errors.js';
import type { Git } from './git.js';
import { redactUrlCredentials } from './redact.js';

/** What the commit and the PR say about the task. */
export interface SubmitInfo {
  taskId: string;
  title: string;
  /** The PR body; a default naming the task when absent. */
  body?: string;
}

/** The outcome of a submission. */
export interface SubmitResult {
  branch: string;
  /** The branch's head commit after submission. */
  commit: string;
  /** False when the work changed nothing: then nothing was committed or pushed. */
  changed: boolean;
  /** The paths the branch changes against the commit it started from (evidence for review). */
  files_changed: string[];
  pushed: boolean;
  pr_url: string | null;
  /** The PR, else the branch's web page (GitHub-style remotes), else `<remote url>#<branch>`; null when not pushed. */
  url: string | null;
  /** Why no PR was opened, when one was wanted and gh is there but failed. */
  pr_error?: string;
}

export interface SubmitDeps {
  git: Git;
  opts: Readonly<WorkspaceOptions>;
  /** Runs fn while holding the repository's lock (pushes update shared remote-tracking refs). */
  withRepoLock: <T>(fn: () => Promise<T>) => Promise<T>;
}

export interface SubmitTarget {
  path: string;
  repo: ResolvedRepo;
  branch: string;
  baseCommit: string;
}

export async function submitWork(deps: SubmitDeps, t: SubmitTarget, info: SubmitInfo, signal?: AbortSignal): Promise<SubmitResult> {
  const { git, opts } = deps;
  const local = { cwd: t.path, signal };

  const status = await git.run(['status', '--porcelain'], local);
  if (status !== '') {
    await git.run(['add', '-A'], local);
    const message = `${info.title}\n\nSwitchyard task ${info.taskId}\n\nSwitchyard-Task: ${info.taskId}\n`;
    await git.run(['commit', '-q', '-F', '-'], { ...local, stdin: message, env: await authorEnv(git, t.path, opts) });
  }
  const commit = await git.run(['rev-parse', 'HEAD'], local);
  if (commit === t.baseCommit) {
    return { branch: t.branch, commit, changed: false, files_changed: [], pushed: false, pr_url: null, url: null };
  }
  const files = await git.run(['diff', '--name-only', '-z', t.baseCommit, commit], local);

  await deps.withRepoLock(() => push(git, opts, t, signal));
  const remoteUrl = redactUrlCredentials(await git.run(['remote', 'get-url', t.repo.remote], local));
  const result: SubmitResult = {
    branch: t.branch,
    commit,
    changed: true,
    files_changed: files.split('\0').filter(Boolean).slice(0, 1000),
    pushed: true,
    pr_url: null,
    url: webBranchUrl(remoteUrl, t.branch) ?? `${remoteUrl}#${t.branch}`,
  };
  if (opts.openPullRequests && (await ghReady(opts, t.path))) {
    const pr = await openPullRequest(opts, t, info, signal);
    if (pr.url) {
      result.pr_url = pr.url;
      result.url = pr.url;
    } else {
      result.pr_error = pr.error;
    }
  }
  return result;
}

/**
 * Pushes the branch with a lease: the remote branch must still be where our last fetch saw it
 * (or absent, if the fetch saw none). A retry of the task replaces an earlier attempt's branch,
 * but never a change someone pushed to that branch since.
 */
async function push(git: Git, opts: Readonly<WorkspaceOptions>, t: SubmitTarget, signal?: AbortSignal): Promise<void> {
  const tracking = await git.try(['rev-parse', '--verify', '-q', `refs/remotes/${t.repo.remote}/${t.branch}`], { cwd: t.path });
  const expected = tracking.ok ? tracking.stdout.trim() : '';
  const r = await git.try(
    ['push', '--porcelain', `--force-with-lease=refs/heads/${t.branch}:${expected}`, t.repo.remote, `HEAD:refs/heads/${t.branch}`],
    { cwd: t.path, timeoutMs: opts.networkTimeoutMs, signal },
  );
  if (!r.ok) {
    const rejected = /\[rejected\]|stale info|non-fast-forward|\brejected\b/.test(r.output);
    throw sidecarError(rejected ? 'SIDECAR_PUSH_REJECTED' : 'SIDECAR_GIT_FAILED', `push of ${t.branch} failed: ${r.output.trim().slice(-500)}`, {
      branch: t.branch,
    });
  }
}

/** The environment that sets the commit identity, or none when git has one configured. */
async function authorEnv(git: Git, cwd: string, opts: Readonly<WorkspaceOptions>): Promise<NodeJS.ProcessEnv> {
  let who = opts.commitAuthor;
  if (!who) {
    const email = await git.try(['config', 'user.email'], { cwd });
    if (email.ok && email.stdout.trim() !== '') return {};
    who = FALLBACK_AUTHOR;
  }
  return { GIT_AUTHOR_NAME: who.name, GIT_AUTHOR_EMAIL: who.email, GIT_COMMITTER_NAME: who.name, GIT_COMMITTER_EMAIL: who.email };
}

function ghEnv(opts: Readonly<WorkspaceOptions>): NodeJS.ProcessEnv {
  return { ...opts.env, GH_PROMPT_DISABLED: '1', GH_NO_UPDATE_NOTIFIER: '1', NO_COLOR: '1' };
}

/** True when gh is installed and logged in. */
async function ghReady(opts: Readonly<WorkspaceOptions>, cwd: string): Promise<boolean> {
  const p = await runProcess({ file: opts.gh, args: ['auth', 'status'], cwd, env: ghEnv(opts), timeoutMs: 30_000 });
  return p.exitCode === 0;
}

async function openPullRequest(
  opts: Readonly<WorkspaceOptions>,
  t: SubmitTarget,
  info: SubmitInfo,
  signal?: AbortSignal,
): Promise<{ url: string | null; error?: string }> {
  const body = info.body ?? `Work of Switchyard task ${info.taskId}.`;
  const p = await runProcess({
    file: opts.gh,
    args: ['pr', 'create', '--base', t.repo.default_branch, '--head', t.branch, '--title', info.title, '--body-file', '-'],
    cwd: t.path,
    env: ghEnv(opts),
    stdin: body,
    timeoutMs: opts.networkTimeoutMs,
    signal,
  });
  const urls = p.output.match(/https?:\/\/\S+\/pull\/\d+/g);
  // A retry finds the PR of an earlier attempt: gh names it in its error, and it is the same PR.
  if (urls && (p.exitCode === 0 || /already exists/i.test(p.output))) return { url: urls[urls.length - 1]! };
  return { url: null, error: redactUrlCredentials(p.output.trim().slice(-500)) || `gh exited with ${p.exitCode}` };
}

/** The web page of a branch for GitHub-style remotes (https or scp-like ssh), else null. */
export function webBranchUrl(remoteUrl: string, branch: string): string | null {
  const m =
    /^https:\/\/(?:[^@/]+@)?([^/]+)\/([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(remoteUrl) ??
    /^(?:ssh:\/\/)?git@([^:/]+)[:/]([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(remoteUrl);
  if (!m) return null;
  return `https://${m[1]}/${m[2]}/${m[3]}/tree/${branch}`;
}
