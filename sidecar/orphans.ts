/**
 * Processes a previous run of this sidecar started and did not stop (it was killed): they are
 * killed before their tasks run again, so that no task runs twice on this host.
 *
 * Only what is proven to be that run's is killed. A pid in the state file is just a number: once
 * its process is gone, the kernel may give it to anything (this once SIGKILLed an unrelated
 * group). So the sidecar records, at spawn, while the child is certainly its own (Node has not
 * reaped it: that happens on a later turn of the event loop), the leader's start time and the
 * run's SWITCHYARD_RUN_ID marker; after a restart process-sweep.ts kills the leader only if its
 * pid still has that start time, and every process that carries the marker or belongs to one of
 * those (its group, its descendants) — which also reaches a `setsid` child that left the group.
 *
 * A record without that proof (from an older sidecar), from another boot, or on a host without
 * /proc is left alone, with a warning for the first and last.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { HAS_PROC, readStat, runIdOf, signalRun, type RunMark } from './executors/process-sweep.js';
import type { HeldTask } from './state.js';

/** This boot of the kernel (Linux); a pgid recorded under another boot means nothing now. */
export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/**
 * What proves, after a restart, that `pid` is still the process started now. Call at spawn.
 * Every field is present (undefined where unknown), so spreading it over a record replaces the
 * proof of an earlier spawn of the same task.
 */
export function spawnProof(pid: number): Required<Pick<HeldTask, 'pgid' | 'boot_id'>> & Pick<HeldTask, 'pgid_start_ticks' | 'run_id'> {
  const runId = runIdOf(pid);
  return {
    pgid: pid,
    boot_id: bootId(),
    pgid_start_ticks: readStat(pid)?.startTicks,
    // The marker is runProcess's; one of another shape was set by someone else, and proves nothing.
    run_id: runId !== null && /^[0-9a-f]{16}$/.test(runId) ? runId : undefined,
  };
}

/** Kills the proven processes of each held task's recorded run. Never throws. */
export function stopOrphans(held: readonly HeldTask[], log: Logger): void {
  const boot = bootId();
  for (const h of held) {
    if (h.pgid === undefined || h.boot_id !== boot) continue; // nothing recorded, or a reboot ended it
    const fields = { task_id: h.task.id, pgid: h.pgid };
    const mark: RunMark = {
      runId: h.run_id,
      leader: h.pgid_start_ticks === undefined ? undefined : { pid: h.pgid, startTicks: h.pgid_start_ticks },
    };
    if (!HAS_PROC || (mark.runId === undefined && mark.leader === undefined)) {
      log.warn(fields, 'left a recorded process group alone: nothing proves it is still the one this sidecar started');
      continue;
    }
    try {
      const pids = signalRun(mark, 'SIGKILL');
      if (pids.length > 0) log.info({ ...fields, pids }, 'stopped an orphaned process group');
      else if (readStat(h.pgid)) log.info(fields, 'the recorded process is gone; its pid now names another process, left alone');
    } catch (err) {
      log.warn({ ...fields, err }, 'stopping an orphaned process group failed');
    }
  }
}
