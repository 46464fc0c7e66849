/**
 * Runs one child process in its own process group, with a timeout and an AbortSignal, and
 * never rejects: every way a run can end comes back in a {@link ProcessOutcome}.
 *
 * Why a process group: a shell command, a test runner or an agent CLI starts children of its
 * own. Killing only the direct child would leave those running (and holding the worktree, the
 * GPU, or our stdout pipe). The child is spawned `detached`, which makes it the leader of a new
 * process group, and every kill goes to the whole group: SIGTERM first so tools can clean up,
 * SIGKILL after a grace period for those that do not stop.
 *
 * The group is also signalled when the leader exits by itself: background jobs a command left
 * behind belong to the task and must not outlive it.
 *
 * A group is not all a run can start: `setsid` (or setpgid) takes a process out of it. So every
 * run also carries a marker in its environment, SWITCHYARD_RUN_ID (laid over the caller's `env`),
 * and each kill also goes to every process process-sweep.ts finds by that marker, by the leader's
 * start time, or as a descendant of those (Linux; elsewhere the group kill is all there is).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { findRunProcesses, newRunId, RUN_ID_ENV, signalPids, signalRun, startTicksOf, type RunMark } from './process-sweep.js';
import { TailBuffer } from './tail-buffer.js';

/** Options of {@link runProcess}. */
export interface RunProcessOptions {
  /** The program; looked up on `env.PATH` when it has no slash. */
  file: string;
  args?: readonly string[];
  cwd: string;
  /**
   * The child's environment, except that SWITCHYARD_RUN_ID is always set to this run's marker.
   * @defaultValue process.env
   */
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed. When absent, stdin is /dev/null. */
  stdin?: string;
  /** End the run after this many ms; 0 means no limit. @defaultValue 0 */
  timeoutMs?: number;
  /** Aborting kills the run's processes (a cancel). */
  signal?: AbortSignal;
  /** Time between SIGTERM and SIGKILL. @defaultValue 2000 */
  killGraceMs?: number;
  /** Bytes of output kept for the result. @defaultValue 16384 */
  tailBytes?: number;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Called with the pid (= the process group id) once the child started. */
  onSpawn?: (pid: number) => void;
}

export const RUN_PROCESS_DEFAULTS = Object.freeze({ timeoutMs: 0, killGraceMs: 2_000, tailBytes: 16_384 });

/** How a process run ended. */
export interface ProcessOutcome {
  /** The exit status, or null when a signal ended it or it never started. */
  exitCode: number | null;
  exitSignal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  /** Set when the process could not be started (ENOENT for a missing program, EACCES...). */
  spawnError: NodeJS.ErrnoException | null;
  /** The last bytes of stdout and stderr, interleaved as they arrived. */
  output: string;
  /** The last bytes of stderr alone. */
  stderr: string;
  wallMs: number;
}

/** After the leader exits, how long to wait for the pipes to close beyond the kill grace. */
const CLOSE_FALLBACK_MS = 2_000;

export function runProcess(options: RunProcessOptions): Promise<ProcessOutcome> {
  const o = { ...RUN_PROCESS_DEFAULTS, ...options };
  const started = Date.now();
  const output = new TailBuffer({ maxBytes: o.tailBytes });
  const stderr = new TailBuffer({ maxBytes: o.tailBytes });

  const outcome = (over: Partial<ProcessOutcome>): ProcessOutcome => ({
    exitCode: null,
    exitSignal: null,
    timedOut: false,
    cancelled: false,
    spawnError: null,
    output: output.toString(),
    stderr: stderr.toString(),
    wallMs: Date.now() - started,
    ...over,
  });

  if (o.signal?.aborted) return Promise.resolve(outcome({ cancelled: true }));

  return new Promise<ProcessOutcome>((resolve) => {
    const runId = newRunId();
    let child: ChildProcess;
    try {
      child = spawn(o.file, o.args ?? [], {
        cwd: o.cwd,
        env: { ...(o.env ?? process.env), [RUN_ID_ENV]: runId },
        detached: true,
        stdio: [o.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
    } catch (err) {
      resolve(outcome({ spawnError: err as NodeJS.ErrnoException }));
      return;
    }
    // The leader's start time is read now, before Node can reap it (that happens on a later turn
    // of the event loop), so it names this child and not a later process given the same pid.
    const leaderTicks = child.pid === undefined ? null : startTicksOf(child.pid);
    const mark: RunMark = { runId, leader: child.pid !== undefined && leaderTicks !== null ? { pid: child.pid, startTicks: leaderTicks } : undefined };
    if (child.pid !== undefined) o.onSpawn?.(child.pid);

    let timedOut = false;
    let cancelled = false;
    let killing = false;
    let settled = false;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let spawnError: NodeJS.ErrnoException | null = null;
    const timers: NodeJS.Timeout[] = [];

    const endRun = (): void => {
      if (killing || child.pid === undefined) return;
      killing = true;
      const pid = child.pid;
      // Found before any signal: once members exit, their children reparent and lose the ppid
      // link that makes an environment-clearing descendant findable.
      const strays = findRunProcesses(mark);
      const groupLeft = signalGroup(pid, 'SIGTERM');
      signalPids(strays, 'SIGTERM');
      if (!groupLeft && strays.length === 0) return; // nothing of the run is left to escalate to
      // Not cleared when the run settles: a process that ignored SIGTERM and let go of our pipes
      // must still die. Scans again, for what was forked meanwhile. Unref'd so it never keeps the
      // sidecar alive on its own.
      const t = setTimeout(() => {
        signalGroup(pid, 'SIGKILL');
        signalRun(mark, 'SIGKILL');
      }, o.killGraceMs);
      t.unref();
    };

    const finish = (): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      o.signal?.removeEventListener('abort', onAbort);
      resolve(outcome({ exitCode, exitSignal, timedOut, cancelled, spawnError }));
    };

    const onAbort = (): void => {
      if (settled) return;
      cancelled = !timedOut;
      endRun();
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });

    if (o.timeoutMs > 0) {
      timers.push(
        setTimeout(() => {
          if (settled || cancelled) return;
          timedOut = true;
          endRun();
        }, o.timeoutMs),
      );
    }

    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      output.append(chunk);
      o.onStdout?.(chunk);
    });
    child.stderr?.on('data', (chunk: string) => {
      output.append(chunk);
      stderr.append(chunk);
      o.onStderr?.(chunk);
    });

    if (o.stdin !== undefined && child.stdin) {
      // A child that exits without reading its stdin makes the write fail with EPIPE; that is
      // the child's business (its exit status says what happened), not an error of ours.
      child.stdin.on('error', () => {});
      child.stdin.end(o.stdin);
    }

    child.on('error', (err: NodeJS.ErrnoException) => {
      // 'error' without a pid: the program could not be started; no 'close' may follow.
      if (child.pid === undefined) {
        spawnError = err;
        finish();
      }
    });

    child.on('exit', (code, sig) => {
      exitCode = code;
      exitSignal = sig;
      // End whatever the leader left behind: background jobs in its group, and escapees.
      endRun();
      // 'close' waits for every holder of our pipes. A descendant the sweep cannot find (see
      // process-sweep.ts) could hold them for ever; stop waiting for it after the kill grace.
      const t = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, o.killGraceMs + CLOSE_FALLBACK_MS);
      timers.push(t);
    });

    child.on('close', finish);
  });
}

/**
 * Sends `sig` to the process group led by `pid`. Returns false when no such group exists any
 * more; never throws, because it also runs from timers where a throw would end the sidecar.
 */
export function signalGroup(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    return false;
  }
}
