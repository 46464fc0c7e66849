/**
 * What this host's executors can do now, as the sidecar advertises it: their own description
 * (`describe()`: installed, logged in, reachable, which models), overlaid with the host faults
 * that task runs found (not logged in after all, Ollama gone, a model not pulled, a usage limit).
 *
 * A fault found by a run holds until it is disproved: a usage limit until its reset time; any
 * other until a deep recheck (`describe({deep: true})`) says the executor works again, or (for
 * a model) lists the model again. Rechecks come on a schedule with backoff (recheckMinMs,
 * doubling to recheckMaxMs), at a reset time, and when an operator asks. Pure bookkeeping: the
 * sidecar calls describe() and sends the adverts.
 */
import type { ExecutorAdvert } from '../shared/protocol.js';
import type { ExecutorName } from '../shared/task.js';
import type { ExecutorInfo } from './executors/executor.js';
import type { HostFault } from './task-runner.js';

export interface ExecutorHealthOptions {
  /** First recheck after a fault. @defaultValue 15000 */
  recheckMinMs: number;
  /** Rechecks back off to at most this. @defaultValue 300000 */
  recheckMaxMs: number;
}

export const EXECUTOR_HEALTH_DEFAULTS: Readonly<ExecutorHealthOptions> = Object.freeze({ recheckMinMs: 15_000, recheckMaxMs: 300_000 });

interface Fault {
  code: string;
  reason: string;
  since: number;
  until?: number;
  /** Rechecks that did not clear it (backoff). */
  checks: number;
  nextCheckAt: number;
}

const modelKey = (executor: string, model: string) => `${executor}\0${model}`;

export class ExecutorHealth {
  private readonly executorFaults = new Map<ExecutorName, Fault>();
  private readonly modelFaults = new Map<string, Fault & { executor: ExecutorName; model: string }>();
  /** When describe() first said an executor is unavailable (for `since`), while it keeps saying so. */
  private readonly downSince = new Map<ExecutorName, number>();
  private readonly opts: ExecutorHealthOptions;

  constructor(opts: Partial<ExecutorHealthOptions> = {}) {
    this.opts = { ...EXECUTOR_HEALTH_DEFAULTS, ...opts };
  }

  /** A run found a host fault. */
  report(fault: HostFault, now: number): void {
    const entry: Fault = { code: fault.code, reason: fault.message, since: now, checks: 0, nextCheckAt: now + this.opts.recheckMinMs };
    // A usage limit that names no reset holds for the longest recheck interval.
    const until = fault.until ?? (fault.code === 'EXEC_USAGE_LIMIT' ? now + this.opts.recheckMaxMs : undefined);
    if (until !== undefined && until > now) {
      entry.until = until;
      entry.nextCheckAt = until;
    }
    if (fault.model !== undefined) this.modelFaults.set(modelKey(fault.executor, fault.model), { ...entry, executor: fault.executor, model: fault.model });
    else this.executorFaults.set(fault.executor, entry);
  }

  /**
   * The adverts for fresh descriptions. A `deep` description (a recheck) clears the faults it
   * disproves; a usage limit clears at its reset time whatever describe says.
   */
  overlay(infos: readonly ExecutorInfo[], now: number, deep: boolean): ExecutorAdvert[] {
    return infos.map((info) => {
      const fault = this.executorFaults.get(info.name);
      if (fault) {
        const expired = fault.until !== undefined && now >= fault.until;
        if (expired || (deep && fault.until === undefined && info.available)) this.executorFaults.delete(info.name);
        else if (deep) this.backOff(fault, now);
      }
      const modelFaults: NonNullable<ExecutorAdvert['model_faults']> = [];
      for (const [key, mf] of this.modelFaults) {
        if (mf.executor !== info.name) continue;
        if (deep && info.available && info.models.includes(mf.model)) {
          this.modelFaults.delete(key);
          continue;
        }
        if (deep) this.backOff(mf, now);
        modelFaults.push({ name: mf.model, reason: mf.reason, since: mf.since });
      }
      const still = this.executorFaults.get(info.name);
      const available = info.available && !still;
      if (!info.available) {
        if (!this.downSince.has(info.name)) this.downSince.set(info.name, now);
      } else this.downSince.delete(info.name);
      const advert: ExecutorAdvert = {
        name: info.name,
        available,
        models: info.models.filter((m) => !modelFaults.some((f) => f.name === m)),
      };
      if (still) {
        advert.reason = still.reason;
        advert.since = still.since;
        if (still.until !== undefined) advert.until = still.until;
      } else if (!info.available) {
        advert.reason = info.detail ?? 'not available';
        advert.since = this.downSince.get(info.name)!;
      } else if (info.detail) advert.reason = info.detail;
      if (modelFaults.length > 0) advert.model_faults = modelFaults;
      if (info.modelInfo && info.modelInfo.length > 0) advert.model_info = info.modelInfo;
      return advert;
    });
  }

  /** When the next recheck is due: the earliest fault's, or for an executor that describe() says is down. */
  nextRecheckAt(now: number): number | null {
    let next = Infinity;
    for (const f of this.executorFaults.values()) next = Math.min(next, f.nextCheckAt);
    for (const f of this.modelFaults.values()) next = Math.min(next, f.nextCheckAt);
    return next === Infinity ? (this.downSince.size > 0 ? now + this.opts.recheckMaxMs : null) : next;
  }

  /** Whether any executor or model is marked down now. */
  get faults(): number {
    return this.executorFaults.size + this.modelFaults.size;
  }

  private backOff(f: Fault, now: number): void {
    if (f.until !== undefined) return;
    f.checks++;
    f.nextCheckAt = now + Math.min(this.opts.recheckMaxMs, this.opts.recheckMinMs * 2 ** f.checks);
  }
}
