/**
 * Orphans after a sidecar restart (issue item 9): a process group id read from state.json was
 * SIGKILLed without checking that it was still the one the sidecar started, so a reused pid's
 * group was killed. Now only what is proven to be the recorded run's is killed. Real processes.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, test } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { runProcess } from '../../sidecar/executors/run-process.js';
import { startTicksOf } from '../../sidecar/executors/process-sweep.js';
import { bootId, spawnProof, stopOrphans } from '../../sidecar/orphans.js';
import type { HeldTask } from '../../sidecar/state.js';
import { heldTask } from '../support/held-task.js';
import { tempDir } from '../support/processes.js';
import { processGone, waitFor, waitGone } from '../sidecar-work/helpers.js';

let started: number[] = [];
afterEach(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  started = [];
});

function capture(): { log: pino.Logger; msgs: () => string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), msgs: () => lines.map((l) => (JSON.parse(l) as { msg: string }).msg) };
}

/** A process group that is not the sidecar's: what a reused pid names after a restart. */
function bystander(): number {
  const p = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  started.push(p.pid!);
  return p.pid!;
}

const held = (over: Partial<HeldTask>): HeldTask => ({ task: heldTask('t1'), generation: 1, state: 'running', ...over });

describe('stopOrphans', () => {
  test("kills a recorded run's leader and its setsid escapee, proven by the proof recorded at spawn", async () => {
    let proof: ReturnType<typeof spawnProof> | null = null;
    let out = '';
    // A run as the sidecar starts it; the test plays the restarted sidecar while it still runs.
    const run = runProcess({
      file: '/bin/sh',
      args: ['-c', 'setsid sleep 600 & sleep 0.2; echo pid:$!; sleep 600'],
      cwd: tempDir('orphan'),
      killGraceMs: 200,
      onSpawn: (pid) => (proof = spawnProof(pid)),
      onStdout: (c) => (out += c),
    });
    await waitFor(() => /pid:\d+/.test(out), 5000, 'the escapee');
    const escapee = Number(/pid:(\d+)/.exec(out)![1]);
    started.push(escapee);
    const p = proof as ReturnType<typeof spawnProof> | null;
    expect(p?.pgid_start_ticks).toBeGreaterThan(0);
    expect(p?.run_id).toMatch(/^[0-9a-f]{16}$/);
    const { log, msgs } = capture();
    stopOrphans([held(p!)], log);
    expect((await run).exitSignal).toBe('SIGKILL');
    await waitGone(escapee, 2000);
    expect(msgs()).toContain('stopped an orphaned process group');
  });

  test('leaves alone the group of a pid that now names another process (start time differs)', async () => {
    const pid = bystander();
    const ticks = startTicksOf(pid)!;
    const { log, msgs } = capture();
    stopOrphans([held({ pgid: pid, boot_id: bootId(), pgid_start_ticks: ticks - 1, run_id: '0123456789abcdef' })], log);
    await new Promise((r) => setTimeout(r, 200));
    expect(processGone(pid)).toBe(false);
    expect(msgs()).toContain('the recorded process is gone; its pid now names another process, left alone');
  });

  test('leaves alone a record without proof (an older sidecar wrote it), with a warning', async () => {
    const pid = bystander();
    const { log, msgs } = capture();
    stopOrphans([held({ pgid: pid, boot_id: bootId() })], log);
    await new Promise((r) => setTimeout(r, 200));
    expect(processGone(pid)).toBe(false);
    expect(msgs()).toContain('left a recorded process group alone: nothing proves it is still the one this sidecar started');
  });

  test('ignores a record from another boot', async () => {
    const pid = bystander();
    const { log, msgs } = capture();
    stopOrphans([held({ pgid: pid, boot_id: 'another-boot', pgid_start_ticks: startTicksOf(pid)! })], log);
    await new Promise((r) => setTimeout(r, 200));
    expect(processGone(pid)).toBe(false);
    expect(msgs()).toEqual([]);
  });
});
