/**
 * `switchyard submit` — from inside a git checkout of a repo the hub knows: submit a coding task
 * for that repo, follow it live (state changes, iterations, output), print the branch / PR, and
 * exit 0 only when it completed, so scripts and CI can use it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { Task, TaskEvent, TaskSpec, VerificationStep } from '../../shared/task.js';
import { CliError, HubClient, resolveToken } from '../client.js';
import { time } from '../format.js';

export const SUBMIT_HELP = `Usage: switchyard submit [TITLE] [options]

Run inside a git checkout of a repo the hub's agents have: submits a coding task for that repo,
follows it live (state changes, iterations, output), prints the branch / PR at the end. Exits 0
when the task completed, 1 when it ended otherwise (dead-lettered, cancelled), 2 on bad usage.

The task:
  TITLE                     Its title (or the first line written in $EDITOR)
  --description TEXT        What to do (the prompt)
  --description-file F      ... read from F ('-' for stdin)
                            With neither (and no --command), $EDITOR opens: first line title, then the description
  --repo NAME               The repo (default: this checkout's, by its origin URL or folder name)
  --executor E              ollama | claude | shell (default: the agent's)
  --model M                 Model for ollama / claude
  --command C               A shell command to run in the worktree instead of a model (--executor shell)
  --agent ID                Delegate to this agent
  --capability C            A capability the agent must have (repeatable), e.g. gpu
  --lane L                  urgent | high | normal | low
  --max-attempts N          Build-verify-fix iterations / attempts (default 3)

Verification (what "done" means, checked mechanically; repeatable):
  --verify-tests            The repo's test command passes
  --verify-test-command C   ... this test command passes
  --verify-file PATH        PATH exists
  --verify-command C        C exits 0
  --verify-clean            Nothing is left uncommitted

Other:
  --timeout S   Stop following after S seconds (exit 1; the task goes on at the hub)
  --no-follow   Print the task id and exit
  --json        Print the final task as JSON
  --hub URL     Hub URL (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T     Admin token (default $SWITCHYARD_ADMIN_TOKEN or .switchyard/hub/admin.token)
  -h, --help    Show this help
`;

const FINAL = new Set(['completed', 'dead_letter', 'cancelled']);

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** Title and description written in $EDITOR: the first line, then the rest; '#' lines dropped. */
function fromEditor(title: string | undefined): { title: string; description: string } {
  const editor = process.env.VISUAL || process.env.EDITOR;
  if (!editor) throw new CliError('no description: pass --description TEXT or --description-file FILE, or set $EDITOR to write one', 2);
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-submit-'));
  const file = join(dir, 'TASK.md');
  writeFileSync(file, `${title ?? ''}\n\n# First line: the title. Then what the task should do. Lines starting with # are dropped.\n`);
  try {
    const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit' });
    if (r.status !== 0) throw new CliError(`the editor (${editor}) exited with ${r.status ?? r.signal}: nothing submitted`, 1);
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => !l.startsWith('#'));
    const first = lines.findIndex((l) => l.trim() !== '');
    if (first < 0) throw new CliError('the editor left the task empty: nothing submitted', 1);
    return { title: lines[first]!.trim(), description: lines.slice(first + 1).join('\n').trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The repo this checkout is, among the repos connected agents have. */
async function detectRepo(client: HubClient, explicit: string | undefined): Promise<string> {
  const { body } = await client.request<{ agents: Array<{ id: string; repos?: string[] | null }> }>('GET', '/v1/agents');
  const known = new Set(body.agents.flatMap((a) => a.repos ?? []));
  const list = [...known].sort().join(', ') || 'none: no connected agent has a repo';
  if (explicit) {
    if (!known.has(explicit)) process.stderr.write(`! no connected agent has repo ${explicit} now (known: ${list}); the task waits until one does\n`);
    return explicit;
  }
  const top = git(['rev-parse', '--show-toplevel']);
  if (!top) throw new CliError('not inside a git checkout: cd into a clone of a repo the hub knows, or pass --repo NAME', 2);
  const origin = git(['-C', top, 'remote', 'get-url', 'origin']);
  const names = [origin ? basename(origin.replace(/\/+$/, '')).replace(/\.git$/, '') : null, basename(top)].filter((n): n is string => !!n);
  const hit = names.find((n) => known.has(n));
  if (!hit) throw new CliError(`this checkout (${names.join(' / ')}) is none of the repos the hub's connected agents have (${list}): pass --repo NAME, or onboard a host with --repo ${names[0]}=<url>`, 2);
  return hit;
}

export async function submitCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      description: { type: 'string' },
      'description-file': { type: 'string' },
      repo: { type: 'string' },
      executor: { type: 'string' },
      model: { type: 'string' },
      command: { type: 'string' },
      agent: { type: 'string' },
      capability: { type: 'string', multiple: true },
      lane: { type: 'string' },
      'max-attempts': { type: 'string' },
      'verify-tests': { type: 'boolean' },
      'verify-test-command': { type: 'string' },
      'verify-file': { type: 'string', multiple: true },
      'verify-command': { type: 'string', multiple: true },
      'verify-clean': { type: 'boolean' },
      'no-follow': { type: 'boolean' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
      hub: { type: 'string' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(SUBMIT_HELP);
    return;
  }
  let title = positionals[0];
  let description = values.description;
  if (description === undefined && values['description-file']) description = readFileSync(values['description-file'] === '-' ? 0 : values['description-file'], 'utf8').trim();
  if (description === undefined && !values.command) ({ title, description } = fromEditor(title));
  if (!title) throw new CliError('switchyard submit needs a TITLE (or write one in $EDITOR)', 2);

  const client = new HubClient(values);
  const repo = await detectRepo(client, values.repo);
  const verification: VerificationStep[] = [];
  for (const path of values['verify-file'] ?? []) verification.push({ type: 'file_exists', path });
  if (values['verify-tests']) verification.push({ type: 'test_passes' });
  if (values['verify-test-command']) verification.push({ type: 'test_passes', command: values['verify-test-command'] });
  for (const command of values['verify-command'] ?? []) verification.push({ type: 'command_succeeds', command });
  if (values['verify-clean']) verification.push({ type: 'git_clean' });
  const spec: TaskSpec = { title, repo, ...(description ? { description } : {}), ...(verification.length ? { verification } : {}) };
  if (values.command) Object.assign(spec, { command: values.command, executor: 'shell' });
  if (values.executor) spec.executor = values.executor as TaskSpec['executor'];
  if (values.model) spec.model = values.model;
  if (values.agent) spec.agent = values.agent;
  if (values.capability) spec.capabilities = values.capability;
  if (values.lane) spec.lane = values.lane as TaskSpec['lane'];
  if (values['max-attempts']) spec.max_attempts = Number(values['max-attempts']);

  // Subscribe before submitting, so that no change is missed.
  const feed = values['no-follow'] ? null : await openFeed(client.base, resolveToken(values));
  const { body: created } = await client.request<Task>('POST', '/v1/tasks', spec);
  const log = (s: string) => process.stderr.write(s);
  log(`submitted ${created.id} "${created.title}" for repo ${repo}${created.executor ? ` (executor ${created.executor})` : ''}\n`);
  if (!feed) {
    process.stdout.write(`${created.id}\n`);
    return;
  }
  const timeoutS = values.timeout === undefined ? 0 : Number(values.timeout);
  if (!Number.isInteger(timeoutS) || timeoutS < 0) throw new CliError('--timeout must be a whole number of seconds', 2);
  const final = await follow(client, feed, created.id, log, timeoutS * 1000);
  const r = (final.result ?? {}) as { branch?: string | null; url?: string | null; submission?: { pushed?: boolean; pr_url?: string | null; error?: string } | null; output_tail?: string };
  if (values.json) process.stdout.write(`${JSON.stringify(final, null, 2)}\n`);
  if (final.status === 'completed') {
    if (!values.json) {
      const where = r.submission?.pr_url ? `PR ${r.submission.pr_url}` : r.branch ? `branch ${r.branch}${r.submission?.pushed ? ' (pushed)' : ''}` : 'no branch (nothing to submit)';
      process.stdout.write(`completed: ${where}\n`);
    }
    return;
  }
  if (!values.json) process.stdout.write(`${final.status}: ${final.last_error ? `${final.last_error.code}: ${final.last_error.message}` : 'no error recorded'}${r.branch ? ` (branch ${r.branch})` : ''}\n`);
  process.exitCode = 1;
}

interface Feed {
  ws: WebSocket;
  /** Handles every message, starting with those received before this call. */
  on(fn: (m: Record<string, unknown>) => void): void;
}

async function openFeed(base: string, token: string | null): Promise<Feed> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/feed`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  // Kept until a handler is there: the task's first changes arrive before its id is known.
  const early: Array<Record<string, unknown>> = [];
  let handler: ((m: Record<string, unknown>) => void) | null = null;
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as Record<string, unknown>;
    if (handler) handler(m);
    else early.push(m);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', (err) => reject(new CliError(`cannot follow the task: the hub's feed at ${base} refused (${err.message}); check --hub and --token`)));
  });
  return {
    ws,
    on: (fn) => {
      handler = fn;
      for (const m of early.splice(0)) fn(m);
    },
  };
}

/** The hub not answering for this long while following: give up rather than hang. */
const HUB_GONE_MS = 60_000;

/**
 * Prints the task's changes and output as they come; resolves with the task once it is final.
 * Rejects when `timeoutMs` (0: none) passes, or when the hub stops answering.
 */
function follow(client: HubClient, feed: Feed, id: string, log: (s: string) => void, timeoutMs: number): Promise<Task> {
  return new Promise((resolve, reject) => {
    let done = false;
    const started = Date.now();
    let lastAnswer = Date.now();
    const giveUp = (why: string) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      feed.ws.close();
      reject(new CliError(`${why}; the task goes on at the hub: switchyard task show ${id}`, 1));
    };
    const partial = new Map<string, string>();
    const finish = async () => {
      if (done) return;
      done = true;
      clearInterval(poll);
      for (const rest of partial.values()) if (rest) log(`        | ${rest}\n`);
      feed.ws.close();
      try {
        resolve((await client.request<{ task: Task }>('GET', `/v1/tasks/${id}`)).body.task);
      } catch (err) {
        reject(err);
      }
    };
    feed.on((m) => {
      if (m.type === 'task.changed' && (m.task as Task).id === id) {
        const t = m.task as Task;
        const e = m.event as TaskEvent;
        const who = t.lease?.agent_id ? ` on ${t.lease.agent_id}` : '';
        log(`${time(e.at).slice(11)}  ${e.from ?? 'new'} -> ${e.to}${who}${e.reason && e.type !== 'created' ? `  (${e.reason})` : ''}\n`);
        if (FINAL.has(t.status)) void finish();
      }
      if (m.type === 'task.progress' && m.task_id === id) {
        for (const chunk of m.data as Array<{ stream: string; data: string }>) {
          // A status chunk is one line; output arrives in pieces, so lines are put back together.
          if (chunk.stream === 'status') {
            for (const line of chunk.data.split('\n')) if (line.trim()) log(`          ${iterationLine(line.trim())}\n`);
            continue;
          }
          const lines = ((partial.get(chunk.stream) ?? '') + chunk.data).split('\n');
          partial.set(chunk.stream, lines.pop()!);
          for (const line of lines) log(`        | ${line}\n`);
        }
      }
    });
    // The feed is the live view; a poll makes sure a lost frame or a dropped socket cannot hang it.
    const poll = setInterval(() => {
      if (timeoutMs > 0 && Date.now() - started > timeoutMs) return giveUp(`stopped following after ${timeoutMs / 1000} s (--timeout)`);
      void client.request<{ task: Task }>('GET', `/v1/tasks/${id}`).then(
        (r) => {
          lastAnswer = Date.now();
          if (FINAL.has(r.body.task.status)) void finish();
        },
        (err: Error) => {
          if (Date.now() - lastAnswer > HUB_GONE_MS) giveUp(`the hub has not answered for ${HUB_GONE_MS / 1000} s (${err.message})`);
        },
      );
    }, 1000);
    feed.ws.on('close', () => {
      if (!done) log('! the feed closed; following by polling\n');
    });
  });
}

/** A status line of the build-verify-fix loop; the sidecar's per-iteration JSON made readable. */
function iterationLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const it = JSON.parse(line) as { iteration?: number; ok?: boolean; verification?: boolean | null };
    const checks = it.verification === null || it.verification === undefined ? '' : it.verification ? ', checks passed' : ', checks failed';
    return `iteration ${it.iteration}: executor ${it.ok ? 'done' : 'failed'}${checks}`;
  } catch {
    return line;
  }
}
