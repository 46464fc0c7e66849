/**
 * Finds every process one run started, so that it can be ended with the run: not only the
 * run's process group (run-process.ts kills that) but also what left it — a `setsid` child, a
 * daemonising test server, a process that moved to a group of its own.
 *
 * How a process is known to be the run's, on Linux (read from /proc, no root, no cgroups):
 *  - the marker: runProcess puts `SWITCHYARD_RUN_ID=<16 random hex>` in the leader's
 *    environment, and children inherit it across setsid, setpgid and double forks. A process's
 *    /proc/<pid>/environ is the environment it was started with;
 *  - the leader, named by its pid *and* its start time (/proc/<pid>/stat field 22, clock ticks
 *    since boot): a pid can be reused once its process is gone, a (pid, start time) pair cannot
 *    within one boot;
 *  - every member of a group a proven process belongs to: a process can join only a group of
 *    its own session, and the run's sessions all began with the run (the leader is spawned
 *    detached, so it starts a new session), and a group id cannot be reused while a member lives;
 *  - every descendant (by /proc/<pid>/stat ppid) of a proven process, which catches a child that
 *    cleared its environment (`env -i`) while its parent still runs.
 *
 * What remains possible: a process that clears its environment AND is reparented away before the
 * sweep (a double fork under `env -i` whose middle process exits; `setsid env -i … &` from a
 * shell that then exits), or one started through another service (`systemd-run`, `at`, a
 * container runtime, ssh to localhost). Only a cgroup per run would close that; see
 * docs/sidecar-processes.md.
 *
 * Without /proc (macOS) nothing here can find anything: the functions return empty lists and the
 * caller's process-group kill is all there is.
 *
 * Cost: one readdir of /proc and one small read of each /proc/<pid>/stat; environ is read only
 * for processes that started no earlier than the leader (the marker cannot be older). Measured:
 * about 10 µs a process (0.7 ms for 70 processes), so a few ms on a busy host. It is synchronous
 * on purpose: it runs from exit handlers and timers, and the tree must be read in one go, before
 * signals make members exit and their children reparent.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/** The environment variable that marks every process of one run. */
export const RUN_ID_ENV = 'SWITCHYARD_RUN_ID';

/** True where /proc can be read (Linux); elsewhere only process groups can be signalled. */
export const HAS_PROC = existsSync('/proc/self/stat');

/** A fresh run marker: 16 hex digits (64 random bits). */
export function newRunId(): string {
  return randomBytes(8).toString('hex');
}

/** The fields of /proc/<pid>/stat this module uses. */
export interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** R, S, D, Z (zombie), T... */
  state: string;
  /** Start time in clock ticks since boot (field 22). */
  startTicks: number;
}

/** How to recognise a run's processes. Either part may be absent; with neither, nothing is found. */
export interface RunMark {
  /** The SWITCHYARD_RUN_ID value of the run. */
  runId?: string | undefined;
  /** The run's first process, and its start time as read while it was certainly ours. */
  leader?: { pid: number; startTicks: number } | undefined;
}

/** A stat line is under 400 bytes (52 numbers and a comm of at most 16 bytes). */
const STAT_BUF = Buffer.alloc(1024);

/** /proc/<pid>/stat parsed, or null when the process is gone (or there is no /proc). */
export function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    // open + one read into a shared buffer: readFileSync's extra fstat and allocation doubled the
    // cost of a sweep (about 20 µs a process with it, 10 without).
    const fd = openSync(`/proc/${pid}/stat`, 'r');
    try {
      text = STAT_BUF.toString('latin1', 0, readSync(fd, STAT_BUF, 0, STAT_BUF.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
  // Field 2 (comm) is in parentheses and may itself hold spaces and ')': split after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state), so field n is f[n - 3].
  const num = (n: number): number => Number(f[n - 3]);
  const st = { pid, state: f[0] ?? '?', ppid: num(4), pgid: num(5), sid: num(6), startTicks: num(22) };
  return Number.isInteger(st.startTicks) && Number.isInteger(st.ppid) ? st : null;
}

/** The start time of a live process, or null (gone, or no /proc). */
export function startTicksOf(pid: number): number | null {
  return readStat(pid)?.startTicks ?? null;
}

/** The SWITCHYARD_RUN_ID a process was started with, or null (none, gone, not ours to read). */
export function runIdOf(pid: number): string | null {
  const env = readEnviron(pid);
  if (env === null) return null;
  const key = `\0${RUN_ID_ENV}=`;
  const at = env.lastIndexOf(key);
  if (at < 0) return null;
  const end = env.indexOf('\0', at + key.length);
  return env.slice(at + key.length, end < 0 ? undefined : end);
}

/**
 * The pids of the run's live processes (zombies left out: they run nothing and cannot be
 * killed), never this process itself. Empty without /proc.
 */
export function findRunProcesses(mark: RunMark): number[] {
  if (!HAS_PROC || (mark.runId === undefined && mark.leader === undefined)) return [];
  const all = new Map<number, ProcStat>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue; // not a pid: self, sys, meminfo...
    const st = readStat(Number(name));
    if (st && st.state !== 'Z' && st.state !== 'X') all.set(st.pid, st);
  }

  const ours = new Set<number>();
  const groups = new Set<number>();
  const leader = mark.leader && all.get(mark.leader.pid);
  if (leader && leader.startTicks === mark.leader!.startTicks) {
    ours.add(leader.pid);
    groups.add(leader.pgid);
  }
  if (mark.runId !== undefined) {
    const needle = `\0${RUN_ID_ENV}=${mark.runId}\0`;
    const since = mark.leader?.startTicks ?? 0;
    for (const st of all.values()) {
      if (st.startTicks < since || ours.has(st.pid)) continue;
      if (readEnviron(st.pid)?.includes(needle)) {
        ours.add(st.pid);
        groups.add(st.pgid);
      }
    }
  }
  const children = new Map<number, number[]>();
  for (const st of all.values()) {
    if (groups.has(st.pgid)) ours.add(st.pid);
    const list = children.get(st.ppid);
    if (list) list.push(st.pid);
    else children.set(st.ppid, [st.pid]);
  }
  const queue = [...ours];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    for (const child of children.get(pid) ?? []) {
      if (!ours.has(child)) {
        ours.add(child);
        queue.push(child);
      }
    }
  }
  ours.delete(process.pid);
  return [...ours];
}

/** Sends `sig` to each pid; ones already gone (ESRCH) or not ours to signal (EPERM) are skipped. */
export function signalPids(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // Gone meanwhile, or not ours to signal.
    }
  }
}

/**
 * Finds the run's processes and sends them `sig`; returns the pids signalled. With SIGKILL it
 * scans again until no new process turns up (a few rounds at most), so a child forked between
 * the scan and the kill does not survive it.
 */
export function signalRun(mark: RunMark, sig: NodeJS.Signals): number[] {
  const signalled = new Set<number>();
  for (let round = 0; round < (sig === 'SIGKILL' ? 5 : 1); round++) {
    const fresh = findRunProcesses(mark).filter((p) => !signalled.has(p));
    if (fresh.length === 0) break;
    signalPids(fresh, sig);
    for (const p of fresh) signalled.add(p);
  }
  return [...signalled];
}

/** The environment block as one string with a leading NUL, or null when unreadable. */
function readEnviron(pid: number): string | null {
  try {
    // EACCES for other users' processes, ESRCH/ENOENT for ones that just exited: not ours either way.
    return `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}`;
  } catch {
    return null;
  }
}
