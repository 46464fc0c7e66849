/**
 * `switchyard up` (what `npm start` runs): a hub on a local data folder, two sidecars on this host
 * with the shell executor, and a small demo set of tasks — a dependency chain, a task that fails
 * once and succeeds on retry, an urgent one — with progress printed as tasks move. The hub keeps
 * running afterwards; Ctrl-C stops everything (sidecars drain first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { startHub, type RunningHub } from '../../hub/app.js';
import { loadHubConfig } from '../../hub/config.js';
import { OPERATOR } from '../../hub/service/access.js';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { SwitchyardError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { scrubSecrets } from '../../sidecar/child-env.js';
import type { TaskSpec } from '../../shared/task.js';

export const UP_HELP = `Usage: switchyard up [options]      (npm start runs this)

Starts a hub on a local data folder and two sidecars on this host, submits a demo set of tasks,
prints progress as they move, and leaves the hub running. Ctrl-C stops everything.

Options:
  --data DIR     Data folder (default ./.switchyard)
  --port P       Hub port (default 7070; 0 picks a free one)
  --sidecars N   Local sidecars to start (default 2)
  --no-demo      Start the fleet without submitting demo tasks
  --exit         Exit once the demo tasks are done (for scripts and CI)
  -h, --help     Show this help
`;

const CLI = fileURLToPath(new URL('../switchyard.js', import.meta.url));

function demoTasks(run: string, scratch: string): TaskSpec[] {
  const marker = join(scratch, `flaky-${run}`);
  return [
    { ref: 'fetch', title: 'Fetch sources', executor: 'shell', command: 'echo "fetching sources"; sleep 1; echo "fetched 42 files"' },
    { ref: 'build', title: 'Build', executor: 'shell', command: 'echo "compiling"; sleep 1; echo "build ok"', depends_on: ['fetch'] },
    { ref: 'test', title: 'Run tests', executor: 'shell', command: 'echo "running 12 tests"; sleep 1; echo "12 passed"', depends_on: ['build'] },
    {
      ref: 'flaky',
      title: 'Flaky integration check (fails once, then passes)',
      executor: 'shell',
      command: `if [ -e '${marker}' ]; then echo "second try: ok"; else touch '${marker}'; echo "first try: connection reset" >&2; exit 1; fi`,
      max_attempts: 3,
    },
    { ref: 'hotfix', title: 'Urgent hotfix check', executor: 'shell', lane: 'urgent', command: 'echo "hotfix verified"' },
  ].map((t) => ({ ...t, idempotency_key: `demo-${run}-${t.ref}` }) as TaskSpec);
}

/** The process environment less every SWITCHYARD_ variable that holds a secret. */
function withoutSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  scrubSecrets(copy);
  return copy;
}

/**
 * The 0600 file with a local sidecar's token, registering the agent (again) when needed. The hub
 * is in this process: its services are called directly, as the operator.
 */
async function agentTokenFile(hub: RunningHub, dataDir: string, id: string, log: Logger): Promise<string> {
  const { agents } = hub.services;
  const tokenFile = join(dataDir, 'sidecars', `${id}.token`);
  const known = await agents.get(OPERATOR, id).then(
    () => true,
    (err: unknown) => {
      if (err instanceof SwitchyardError && err.code === 'AGENT_NOT_FOUND') return false;
      throw err;
    },
  );
  if (known && existsSync(tokenFile)) return tokenFile;
  if (known) await agents.remove(OPERATOR, id, log);
  const { token } = await agents.register(OPERATOR, { id, description: 'local demo sidecar' });
  await writeFileAtomic(tokenFile, `${token}\n`, 0o600);
  return tokenFile;
}

const stamp = () => new Date().toISOString().slice(11, 19);

export async function upCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      port: { type: 'string' },
      sidecars: { type: 'string' },
      'no-demo': { type: 'boolean' },
      exit: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(UP_HELP);
    return;
  }
  const dataDir = resolve(values.data ?? '.switchyard');
  await mkdir(dataDir, { recursive: true });
  const sidecarCount = Number(values.sidecars ?? 2);
  const config = loadHubConfig({ dataDir: join(dataDir, 'hub'), ...(values.port ? { port: values.port } : {}) });
  const hubLogPath = join(dataDir, 'hub.log');
  const log = createLogger('hub', config.logLevel, createWriteStream(hubLogPath, { flags: 'a' }));

  process.stdout.write(`${stamp()}  starting hub (data ${config.dataDir}, logs ${hubLogPath})\n`);
  let hub: RunningHub;
  try {
    hub = await startHub(config, log);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new SwitchyardError('VALIDATION_FAILED', `port ${config.port} is in use: is a hub already running? Stop it, or pass --port 0`, undefined, { cause: err });
    throw err;
  }
  process.stdout.write(`${stamp()}  hub listening on ${hub.url}\n`);
  process.stdout.write(`${stamp()}  dashboard: ${hub.url}/  (sign in with the admin token in ${hub.adminTokenPath ?? '$SWITCHYARD_ADMIN_TOKEN'})\n`);

  const titles = new Map<string, string>();
  hub.bus.on('task.changed', ({ task, event }) => {
    if (!titles.has(task.id) && event.type !== 'created') return;
    titles.set(task.id, task.title);
    const who = task.lease?.agent_id ? ` [${task.lease.agent_id}]` : '';
    const why = event.reason && event.type !== 'created' ? `  (${event.reason})` : '';
    process.stdout.write(`${stamp()}  ${task.title.padEnd(50).slice(0, 50)}  ${event.from ?? 'new'} -> ${event.to}${who}${why}\n`);
  });

  const children: ChildProcess[] = [];
  for (let i = 1; i <= sidecarCount; i++) {
    const id = `local-${i}`;
    const tokenFile = await agentTokenFile(hub, dataDir, id, log);
    const logPath = join(dataDir, `sidecar-${id}.log`);
    const out = createWriteStream(logPath, { flags: 'a' });
    const args = [CLI, 'sidecar', '--hub', hub.url, '--agent', id, '--data', join(dataDir, `sidecar-${id}`), '--token-file', tokenFile];
    const child = spawn(process.execPath, args, {
      // The token travels in its 0600 file, and no secret of this process (an exported
      // SWITCHYARD_ADMIN_TOKEN) reaches the sidecars or the tasks they run.
      env: withoutSecrets(process.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    children.push(child);
    process.stdout.write(`${stamp()}  sidecar ${id} started (pid ${child.pid}, logs ${logPath})\n`);
  }

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${stamp()}  stopping: sidecars drain, then the hub closes\n`);
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((r) => {
            if (c.exitCode !== null) return r();
            c.once('exit', () => r());
            c.kill('SIGTERM');
          }),
      ),
    );
    await hub.close();
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  if (values['no-demo']) {
    process.stdout.write(`\nHub: ${hub.url}\nDashboard: ${hub.url}/\nAdmin token: ${hub.adminTokenPath ?? '$SWITCHYARD_ADMIN_TOKEN'}\nCtrl-C to stop.\n`);
    return;
  }

  const run = Date.now().toString(36);
  const scratch = join(dataDir, 'demo');
  await mkdir(scratch, { recursive: true });
  const { tasks } = hub.services;
  const ids = (await tasks.createMany(OPERATOR, demoTasks(run, scratch))).map((r) => r.task.id);
  process.stdout.write(`${stamp()}  submitted ${ids.length} demo tasks\n`);

  const final = new Set(['completed', 'dead_letter', 'cancelled']);
  await new Promise<void>((resolveDone) => {
    const check = async () => {
      const now = await Promise.all(ids.map((id) => tasks.get(OPERATOR, id)));
      if (now.every((t) => final.has(t.status))) {
        resolveDone();
        return true;
      }
      return false;
    };
    const off = hub.bus.on('task.changed', () => {
      void check().then((done) => done && off());
    });
    void check().then((done) => done && off());
  });
  const done = await Promise.all(ids.map((id) => tasks.get(OPERATOR, id)));
  const completed = done.filter((t) => t.status === 'completed').length;
  process.stdout.write(
    `\nDemo done: ${completed}/${ids.length} completed.\n` +
      `Hub: ${hub.url}   health: ${hub.url}/v1/health\n` +
      `Dashboard: ${hub.url}/\n` +
      `Admin token: ${hub.adminTokenPath ?? '$SWITCHYARD_ADMIN_TOKEN'}\n` +
      `Try: node ${CLI} task list    (or npx switchyard task list)\n` +
      (values.exit ? '' : 'The hub keeps running; Ctrl-C to stop.\n'),
  );
  if (values.exit) await stop(completed === ids.length ? 0 : 1);
}
