/**
 * Every process a task starts ends with the task, not only its process group: a `setsid` child
 * (issue item 11) left the group and outlived the task. Real processes only.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runProcess } from '../../sidecar/executors/run-process.js';
import { ShellExecutor } from '../../sidecar/executors/shell.js';
import { findRunProcesses, readStat, RUN_ID_ENV, runIdOf, startTicksOf } from '../../sidecar/executors/process-sweep.js';
import { processGone, progressText, request, tempDir, waitFor, waitGone } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
/** Pids a test saw, killed afterwards whatever happened, so a failing test leaves nothing behind. */
let seen: number[] = [];
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => {
  for (const pid of seen) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  seen = [];
  await cleanup();
});

const GRACE_MS = 300;
/** "Within the kill grace and a bit": the SIGTERM goes out when the run ends, SIGKILL after the grace. */
const GONE_WITHIN_MS = GRACE_MS + 1500;

function pidsIn(text: string): number[] {
  const pids = [...text.matchAll(/pid:(\d+)/g)].map((m) => Number(m[1]));
  for (const p of pids) if (!seen.includes(p)) seen.push(p);
  return pids;
}

/** The session of a live process: a setsid child is the leader of its own. */
function sessionOf(pid: number): number | undefined {
  return readStat(pid)?.sid;
}

describe('runProcess ends every process of the run', () => {
  it('a setsid child of a command that exits by itself is gone soon after the run resolves', async () => {
    let out = '';
    let escaped: { pid: number; sid: number | undefined; leader: number } | null = null;
    const res = await runProcess({
      file: '/bin/sh',
      // The first sleep lets setsid run before the pid is shown; the second keeps the shell
      // alive while the test looks at the escapee.
      args: ['-c', 'setsid sleep 600 & sleep 0.2; echo pid:$!; sleep 0.3; echo started'],
      cwd: dir,
      killGraceMs: GRACE_MS,
      onSpawn: (pid) => (escaped = { pid: 0, sid: undefined, leader: pid }),
      onStdout: (chunk) => {
        out += chunk;
        const [pid] = pidsIn(out);
        if (pid !== undefined && escaped && escaped.pid === 0) escaped = { ...escaped, pid, sid: sessionOf(pid) };
      },
    });
    expect(res.exitCode).toBe(0);
    expect(res.output).toContain('started');
    const e = escaped as { pid: number; sid: number | undefined; leader: number } | null;
    // It really left the run's session (and so its group): a group kill alone cannot reach it.
    expect(e?.sid).toBe(e?.pid);
    expect(e?.sid).not.toBe(e?.leader);
    await waitGone(e!.pid, GONE_WITHIN_MS);
  });

  it('on timeout: the setsid child ends too', async () => {
    const res = await runProcess({
      file: '/bin/sh',
      args: ['-c', 'setsid sleep 600 & echo pid:$!; sleep 600'],
      cwd: dir,
      timeoutMs: 400,
      killGraceMs: GRACE_MS,
    });
    expect(res.timedOut).toBe(true);
    const [pid] = pidsIn(res.output);
    await waitGone(pid, GONE_WITHIN_MS);
  });

  it('on cancel: the setsid child ends too, and so does one that cleared its environment (found through its parent)', async () => {
    const ac = new AbortController();
    let out = '';
    const res = await runProcess({
      file: '/bin/sh',
      // The second sleep starts with an empty environment, so no marker: it is found as a child
      // of the shell, which still runs when the cancel comes.
      args: ['-c', 'setsid sleep 600 & echo pid:$!; setsid env -i sleep 600 & echo pid:$!; sleep 600'],
      cwd: dir,
      signal: ac.signal,
      killGraceMs: GRACE_MS,
      onStdout: (chunk) => {
        out += chunk;
        if (pidsIn(out).length === 2) setTimeout(() => ac.abort(), 100);
      },
    });
    expect(res.cancelled).toBe(true);
    const [marked, cleared] = pidsIn(out);
    await waitGone(marked, GONE_WITHIN_MS);
    await waitGone(cleared, GONE_WITHIN_MS);
  });

  it('escalates to SIGKILL for an escapee that ignores SIGTERM', async () => {
    const res = await runProcess({
      file: '/bin/sh',
      args: ['-c', `setsid sh -c 'trap "" TERM; echo pid:$$; exec sleep 600' & sleep 0.3`],
      cwd: dir,
      killGraceMs: GRACE_MS,
    });
    expect(res.exitCode).toBe(0);
    const [pid] = pidsIn(res.output);
    await waitGone(pid, GONE_WITHIN_MS);
  });

  it("lays the marker over the caller's env, which otherwise stays the child's whole environment", async () => {
    const res = await runProcess({
      file: '/bin/sh',
      args: ['-c', `echo "foo=$FOO home=\${HOME-unset} id=$${RUN_ID_ENV}"`],
      cwd: dir,
      env: { FOO: 'bar', PATH: process.env.PATH, [RUN_ID_ENV]: 'caller-chose-this' },
    });
    expect(res.output).toMatch(/^foo=bar home=unset id=[0-9a-f]{16}\n$/);
  });

  it('leaves alone a process that is not the run\'s, even one that started during it', async () => {
    const bystander = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    seen.push(bystander.pid!);
    const res = await runProcess({ file: '/bin/sh', args: ['-c', 'sleep 0.2'], cwd: dir, killGraceMs: GRACE_MS });
    expect(res.exitCode).toBe(0);
    await new Promise((r) => setTimeout(r, GRACE_MS + 200));
    expect(processGone(bystander.pid!)).toBe(false);
  });
});

describe('the shell executor, as a task runs it', () => {
  it('a task that runs `setsid sleep 600 & echo started` leaves no process behind', async () => {
    // The short sleep lets setsid run before the shell exits: without it the group kill can win
    // the race and hide the bug.
    const { req, progress } = request({ cwd: dir, command: 'setsid sleep 600 & echo pid:$!; sleep 0.2; echo started' });
    const res = await new ShellExecutor({ killGraceMs: GRACE_MS }).run(req);
    expect(res.ok).toBe(true);
    const [pid] = pidsIn(progressText(progress, 'stdout'));
    await waitGone(pid, GONE_WITHIN_MS);
  });

  it('on timeout and on cancel too', async () => {
    const timed = request({ cwd: dir, command: 'setsid sleep 600 & echo pid:$!; sleep 600', timeoutMs: 400 });
    const t = await new ShellExecutor({ killGraceMs: GRACE_MS }).run(timed.req);
    expect(t.failure?.code).toBe('EXEC_TIMEOUT');
    await waitGone(pidsIn(progressText(timed.progress, 'stdout'))[0], GONE_WITHIN_MS);

    const ac = new AbortController();
    const cancelled = request({ cwd: dir, command: 'setsid sleep 600 & echo pid:$!; sleep 600', signal: ac.signal });
    cancelled.req.onProgress = (p) => {
      cancelled.progress.push(p);
      if (pidsIn(progressText(cancelled.progress, 'stdout')).length === 1) ac.abort();
    };
    const c = await new ShellExecutor({ killGraceMs: GRACE_MS }).run(cancelled.req);
    expect(c.failure?.code).toBe('EXEC_CANCELLED');
    await waitGone(pidsIn(progressText(cancelled.progress, 'stdout'))[0], GONE_WITHIN_MS);
  });
});

describe('process-sweep', () => {
  it('proves a leader by pid and start time: the same pid with another start time is not the run\'s', async () => {
    const p = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    seen.push(p.pid!);
    const ticks = startTicksOf(p.pid!);
    expect(ticks).not.toBeNull();
    expect(findRunProcesses({ leader: { pid: p.pid!, startTicks: ticks! } })).toEqual([p.pid]);
    expect(findRunProcesses({ leader: { pid: p.pid!, startTicks: ticks! + 1 } })).toEqual([]);
    expect(findRunProcesses({})).toEqual([]);
  });

  it('reads the marker a process was started with', async () => {
    const p = spawn('sleep', ['30'], { detached: true, stdio: 'ignore', env: { ...process.env, [RUN_ID_ENV]: '0123456789abcdef' } });
    seen.push(p.pid!);
    await waitFor(() => runIdOf(p.pid!) !== null, 2000, 'the child to exec');
    expect(runIdOf(p.pid!)).toBe('0123456789abcdef');
    expect(findRunProcesses({ runId: '0123456789abcdef' })).toEqual([p.pid]);
    expect(readFileSync(`/proc/${p.pid}/environ`, 'latin1')).toContain(`${RUN_ID_ENV}=0123456789abcdef`);
  });
});
