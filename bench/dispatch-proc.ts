/**
 * Child processes for the dispatch bench, and what /proc says about them: spawning node with the
 * open-file limit raised (10,000 sockets need 10,000 descriptors on each side), resident memory,
 * CPU time, and killing whatever is left when the bench ends, however it ends.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The open-file limit the children ask for; the shell falls back to the hard limit if it is lower. */
export const WANTED_FD_LIMIT = 65_536;

const live = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // 'exit' handlers must be synchronous: SIGKILL is the one signal that needs no waiting.
  process.on('exit', () => {
    for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

/**
 * Spawns `node <nodeArgs...>` through `sh -c 'ulimit -n ...; exec node'`, so the child gets a raised
 * open-file limit without touching this process's. The child is killed when this process exits.
 */
export function spawnNode(nodeArgs: string[], opts: { env?: NodeJS.ProcessEnv; stdio: StdioOptions }): ChildProcess {
  hookExit();
  const script = `ulimit -n ${WANTED_FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"`;
  const child = spawn('sh', ['-c', script, process.execPath, ...nodeArgs], { env: opts.env ?? process.env, stdio: opts.stdio });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Waits for a child to exit; SIGKILLs it if it has not after `graceMs`. */
export function waitExit(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function statusField(pid: number | 'self', field: string): string | undefined {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return new RegExp(`^${field}:\\s*(.+)$`, 'm').exec(text)?.[1]?.trim();
}

/** Resident memory in bytes (VmRSS), and the peak so far (VmHWM). */
export function memoryOf(pid: number | 'self'): { rss: number; peak: number } {
  const kb = (f: string) => Number.parseInt(statusField(pid, f) ?? 'NaN', 10) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/**
 * User + system CPU time in milliseconds (from /proc, 100 ticks/s on Linux): of the whole process
 * (all its threads), or with `mainThreadOnly` of its main thread alone (where node runs JavaScript).
 */
export function cpuMsOf(pid: number | 'self', mainThreadOnly = false): number {
  return statCpuMs(readFileSync(mainThreadOnly && pid !== 'self' ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8'));
}

/**
 * User + system CPU time in milliseconds of each thread of a process, by thread id (the main
 * thread's id is the process's). A thread that ends between the listing and its read is left out.
 */
export function threadCpuMsOf(pid: number): Map<number, number> {
  const byThread = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      byThread.set(Number(tid), statCpuMs(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
    } catch {
      // the thread is gone
    }
  }
  return byThread;
}

/** utime + stime of a /proc stat line, in ms (100 ticks/s on Linux). */
function statCpuMs(stat: string): number {
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / 100;
}

/** The soft open-file limit a process runs with ("Max open files" in /proc/<pid>/limits). */
export function fdLimitOf(pid: number | 'self'): string {
  const text = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  return m ? m[1]! : 'unknown';
}
