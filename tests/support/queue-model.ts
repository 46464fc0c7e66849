/**
 * A deliberately naive reference model of the task queue, for the property test: plain maps and
 * arrays, full scans instead of indexes, no persistence. It is written from the documented
 * semantics (docs/tasks.md), not from the store's code, so that the two can disagree.
 *
 * Schema validation is not modelled (the property test only generates well-formed specs, plus one
 * kind of malformed spec, an empty title); everything after it is.
 *
 * Ids of new tasks are the store's: the model is told them (`idsOf`) because ULIDs are the store's
 * business; the model still decides which tasks are new and which are idempotent hits, and orders
 * ties in the ready queue by comparing ids as strings, as the ready index does.
 */
import type { ErrorCode } from '../../shared/errors.js';
import type { Lane, TaskSpec, TaskStatus } from '../../shared/task.js';
import type { AgentFilter } from '../../hub/store/task-store.js';

const LANE_ORDER: readonly Lane[] = ['urgent', 'high', 'normal', 'low'];

/** The circuit breaker opens at this many rejections or lease expiries in a row (hub/workflow/breaker.ts). */
const BREAKER_MAX = 3;

export interface ModelOptions {
  now: () => number;
  /** The constant jitter draw the store is given. */
  random: number;
  starvationMs: number;
  backoff: { baseMs: number; maxMs: number };
  maxAttempts: number;
  timeouts: { start_ms: number; lease_ms: number; overall_ms: number };
}

export interface MTask {
  id: string;
  status: TaskStatus;
  generation: number;
  attempts: number;
  maxAttempts: number;
  lane: Lane;
  capabilities: string[];
  repo: string | null;
  delegate: string | null;
  dependsOn: string[];
  review: boolean;
  runAt: number | null;
  nextRunAt: number | null;
  queuedAt: number | null;
  lease: { agent: string; generation: number; expiresAt: number; startedAt?: number } | null;
  lastError: string | null;
  /** The circuit breaker's counters (docs/workflow.md): review rejections, lease expiries in a row. */
  rejections: number;
  expiries: number;
  timeouts: { start_ms: number; lease_ms: number; overall_ms: number };
  idempotencyKey: string | null;
}

export interface MEvent {
  task: string;
  from: TaskStatus | null;
  to: TaskStatus;
  generation: number;
}

export type Outcome =
  | { ok: true; id: string | null }
  | { ok: true; created: Array<{ id: string; created: boolean }> }
  | { ok: false; code: ErrorCode };

class ModelError extends Error {
  constructor(readonly code: ErrorCode) {
    super(code);
  }
}

export class QueueModel {
  readonly tasks = new Map<string, MTask>();
  readonly events: MEvent[] = [];
  private readonly idempotency = new Map<string, string>();

  constructor(private readonly opts: ModelOptions) {}

  private now(): number {
    return this.opts.now();
  }

  /** Runs a model operation, turning a ModelError into an outcome. Events of a failed op are dropped. */
  private attempt(fn: () => Outcome): Outcome {
    const saved = this.save();
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof ModelError)) throw err;
      this.restore(saved);
      return { ok: false, code: err.code };
    }
  }

  private save(): { tasks: Array<[string, MTask]>; events: number; idem: Array<[string, string]> } {
    return {
      tasks: [...this.tasks].map(([id, t]) => [id, structuredClone(t)]),
      events: this.events.length,
      idem: [...this.idempotency],
    };
  }

  private restore(s: ReturnType<QueueModel['save']>): void {
    this.tasks.clear();
    for (const [id, t] of s.tasks) this.tasks.set(id, t);
    this.events.length = s.events;
    this.idempotency.clear();
    for (const [k, v] of s.idem) this.idempotency.set(k, v);
  }

  private must(id: string): MTask {
    const t = this.tasks.get(id);
    if (!t) throw new ModelError('TASK_NOT_FOUND');
    return t;
  }

  private move(t: MTask, to: TaskStatus): void {
    this.events.push({ task: t.id, from: t.status, to, generation: t.generation });
    t.status = to;
    if (to !== 'assigned' && to !== 'running') t.lease = null;
    if (to === 'queued') {
      t.queuedAt = this.now();
      t.nextRunAt = null;
    } else {
      t.queuedAt = null;
    }
    if (to !== 'pending' && to !== 'failed') t.nextRunAt = null;
  }

  private dependantsOf(id: string): MTask[] {
    return [...this.tasks.values()].filter((t) => t.dependsOn.includes(id));
  }

  private depsCompleted(t: MTask): boolean {
    return t.dependsOn.every((d) => this.tasks.get(d)?.status === 'completed');
  }

  private hasFailedDep(t: MTask): boolean {
    return t.dependsOn.some((d) => {
      const s = this.tasks.get(d)?.status;
      return s === 'dead_letter' || s === 'cancelled';
    });
  }

  private isBlocked(t: MTask): boolean {
    return t.status === 'dead_letter' && t.lastError === 'DEPENDENCY_FAILED';
  }

  // ---------------------------------------------------------------- create

  createMany(specs: TaskSpec[], idsOf: (index: number) => string | undefined): Outcome {
    return this.attempt(() => {
      if (specs.some((s) => s.title === '')) throw new ModelError('VALIDATION_FAILED');
      const keys = specs.map((s) => s.idempotency_key).filter((k) => k !== undefined);
      if (new Set(keys).size !== keys.length) throw new ModelError('VALIDATION_FAILED');
      const refs = specs.map((s) => s.ref).filter((r) => r !== undefined);
      if (new Set(refs).size !== refs.length) throw new ModelError('VALIDATION_FAILED');
      const refIndex = new Map(specs.flatMap((s, i) => (s.ref !== undefined ? [[s.ref, i] as const] : [])));
      // A cycle among refs: some task reaches itself by following refs (naive search from each).
      for (let i = 0; i < specs.length; i++) {
        const seen = new Set<number>();
        const stack = [...(specs[i]!.depends_on ?? []).filter((d) => refIndex.has(d)).map((d) => refIndex.get(d)!)];
        while (stack.length > 0) {
          const j = stack.pop()!;
          if (j === i) throw new ModelError('DEPENDENCY_CYCLE');
          if (seen.has(j)) continue;
          seen.add(j);
          for (const d of specs[j]!.depends_on ?? []) if (refIndex.has(d)) stack.push(refIndex.get(d)!);
        }
      }
      // Which specs are new, and the id each spec stands for.
      const idOf: string[] = specs.map((s, i) => {
        const hit = s.idempotency_key !== undefined ? this.idempotency.get(s.idempotency_key) : undefined;
        if (hit !== undefined) return hit;
        // A placeholder when the store refused what the model accepts: the outcomes then differ.
        return idsOf(i) ?? `(no id from the store for spec ${i})`;
      });
      const isNew = specs.map((s) => s.idempotency_key === undefined || !this.idempotency.has(s.idempotency_key));
      const depIdsOf = (i: number): string[] => [
        ...new Set((specs[i]!.depends_on ?? []).map((d) => (refIndex.has(d) ? idOf[refIndex.get(d)!]! : d))),
      ];
      // Dependencies of new tasks must exist (in the store or the batch) and not have failed.
      const batchNew = new Set(idOf.filter((_, i) => isNew[i]));
      for (let i = 0; i < specs.length; i++) {
        if (!isNew[i]) continue;
        for (const dep of depIdsOf(i)) {
          if (batchNew.has(dep)) continue;
          const d = this.tasks.get(dep);
          if (!d) throw new ModelError('UNKNOWN_DEPENDENCY');
          if (d.status === 'dead_letter' || d.status === 'cancelled') throw new ModelError('DEPENDENCY_FAILED');
        }
      }
      // Insert new tasks so that each comes after the batch tasks it depends on.
      const pending = specs.map((_, i) => i).filter((i) => isNew[i]);
      while (pending.length > 0) {
        const k = pending.findIndex((i) => depIdsOf(i).every((d) => !pending.some((j) => idOf[j] === d)));
        const i = pending.splice(k, 1)[0]!;
        this.insert(specs[i]!, idOf[i]!, depIdsOf(i));
      }
      return { ok: true, created: specs.map((_, i) => ({ id: idOf[i]!, created: isNew[i]! })) };
    });
  }

  private insert(spec: TaskSpec, id: string, dependsOn: string[]): void {
    const now = this.now();
    const t: MTask = {
      id,
      status: 'pending',
      generation: 0,
      attempts: 0,
      rejections: 0,
      expiries: 0,
      maxAttempts: spec.max_attempts ?? this.opts.maxAttempts,
      lane: spec.lane ?? 'normal',
      capabilities: [...(spec.capabilities ?? [])],
      repo: spec.repo ?? null,
      delegate: spec.agent ?? null,
      dependsOn,
      review: spec.review ?? false,
      runAt: spec.run_at ?? null,
      nextRunAt: null,
      queuedAt: null,
      lease: null,
      lastError: null,
      timeouts: { ...this.opts.timeouts, ...spec.timeouts },
      idempotencyKey: spec.idempotency_key ?? null,
    };
    const delayed = t.runAt !== null && t.runAt > now;
    if (this.depsCompleted(t) && !delayed) {
      t.status = 'queued';
      t.queuedAt = now;
    } else if (delayed) {
      t.nextRunAt = t.runAt;
    }
    this.tasks.set(id, t);
    if (t.idempotencyKey !== null) this.idempotency.set(t.idempotencyKey, id);
    this.events.push({ task: id, from: null, to: t.status, generation: 0 });
  }

  // ---------------------------------------------------------------- leases

  matches(agent: AgentFilter, t: MTask): boolean {
    if (t.delegate !== null && t.delegate !== agent.agentId) return false;
    if (t.repo !== null && agent.repos && !agent.repos.includes(t.repo)) return false;
    return t.capabilities.every((c) => agent.capabilities.includes(c));
  }

  /** The documented selection rule, by full scan. */
  pickFor(agent: AgentFilter): MTask | undefined {
    const now = this.now();
    const ready = [...this.tasks.values()].filter((t) => t.status === 'queued' && this.matches(agent, t));
    const older = (a: MTask, b: MTask) => a.queuedAt! < b.queuedAt! || (a.queuedAt === b.queuedAt && a.id < b.id);
    const starving = ready.filter((t) => now - t.queuedAt! > this.opts.starvationMs);
    const pool = starving.length > 0 ? starving : ready;
    let best: MTask | undefined;
    for (const t of pool) {
      if (!best) best = t;
      else if (starving.length > 0) {
        if (older(t, best)) best = t;
      } else {
        const lt = LANE_ORDER.indexOf(t.lane);
        const lb = LANE_ORDER.indexOf(best.lane);
        if (lt < lb || (lt === lb && older(t, best))) best = t;
      }
    }
    return best;
  }

  private assign(t: MTask, agentId: string): void {
    t.generation++;
    this.move(t, 'assigned');
    t.lease = { agent: agentId, generation: t.generation, expiresAt: this.now() + t.timeouts.start_ms };
  }

  leaseNext(agent: AgentFilter): Outcome {
    return this.attempt(() => {
      const t = this.pickFor(agent);
      if (!t) return { ok: true, id: null };
      this.assign(t, agent.agentId);
      return { ok: true, id: t.id };
    });
  }

  leaseTask(id: string, agent: AgentFilter): Outcome {
    return this.attempt(() => {
      const t = this.tasks.get(id);
      if (!t || t.status !== 'queued' || !this.matches(agent, t)) return { ok: true, id: null };
      this.assign(t, agent.agentId);
      return { ok: true, id: t.id };
    });
  }

  private fence(id: string, generation: number, agentId: string): MTask {
    const t = this.must(id);
    if (!t.lease || t.lease.generation !== generation || t.generation !== generation) throw new ModelError('STALE_GENERATION');
    if (t.lease.agent !== agentId) throw new ModelError('NOT_LEASE_HOLDER');
    return t;
  }

  accept(id: string, generation: number, agentId: string): Outcome {
    return this.attempt(() => {
      const t = this.fence(id, generation, agentId);
      if (t.status === 'running') return { ok: true, id };
      const now = this.now();
      const lease = t.lease!;
      this.move(t, 'running');
      t.attempts++;
      t.lease = { ...lease, startedAt: now, expiresAt: now + Math.min(t.timeouts.lease_ms, t.timeouts.overall_ms) };
      return { ok: true, id };
    });
  }

  renew(id: string, generation: number, agentId: string): Outcome {
    return this.attempt(() => {
      const t = this.fence(id, generation, agentId);
      const now = this.now();
      const lease = t.lease!;
      const expires =
        t.status === 'running'
          ? Math.min(now + t.timeouts.lease_ms, lease.startedAt! + t.timeouts.overall_ms)
          : now + t.timeouts.start_ms;
      if (expires > lease.expiresAt) lease.expiresAt = expires;
      return { ok: true, id };
    });
  }

  complete(id: string, generation: number, agentId: string): Outcome {
    return this.attempt(() => {
      const t = this.fence(id, generation, agentId);
      if (t.status !== 'running') throw new ModelError('ILLEGAL_TRANSITION');
      t.expiries = 0;
      if (t.review) {
        this.move(t, 'review');
      } else {
        this.move(t, 'completed');
        this.releaseDependants(t);
      }
      return { ok: true, id };
    });
  }

  fail(id: string, generation: number, agentId: string, retryable: boolean): Outcome {
    return this.attempt(() => {
      const t = this.fence(id, generation, agentId);
      if (t.status === 'assigned') t.attempts++;
      t.expiries = 0;
      this.failAttempt(t, retryable, 'AGENT_ERROR');
      return { ok: true, id };
    });
  }

  private retryDelay(attempt: number): number {
    const { baseMs, maxMs } = this.opts.backoff;
    const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(exp / 2 + (this.opts.random * exp) / 2);
  }

  private openBreaker(t: MTask): void {
    t.lastError = 'CIRCUIT_OPEN';
    this.move(t, 'dead_letter');
    this.deadLetterDependants(t);
  }

  private failAttempt(t: MTask, retryable: boolean, code: string): void {
    t.lastError = code;
    if (retryable && t.attempts < t.maxAttempts) {
      const at = this.now() + this.retryDelay(t.attempts);
      this.move(t, 'failed');
      t.nextRunAt = at;
    } else {
      this.move(t, 'dead_letter');
      this.deadLetterDependants(t);
    }
  }

  release(id: string, generation: number, agentId: string): Outcome {
    return this.attempt(() => {
      const t = this.fence(id, generation, agentId);
      if (t.delegate === agentId) t.delegate = null;
      this.move(t, 'queued');
      return { ok: true, id };
    });
  }

  // ---------------------------------------------------------------- dependencies

  private releaseDependants(done: MTask): void {
    for (const d of this.dependantsOf(done.id)) {
      if (d.status !== 'pending' || !this.depsCompleted(d)) continue;
      if (d.runAt !== null && d.runAt > this.now()) d.nextRunAt = d.runAt;
      else this.move(d, 'queued');
    }
  }

  private deadLetterDependants(root: MTask): void {
    for (const d of this.dependantsOf(root.id)) {
      if (d.status !== 'pending') continue;
      d.lastError = 'DEPENDENCY_FAILED';
      this.move(d, 'dead_letter');
      this.deadLetterDependants(d);
    }
  }

  private cancelDependants(root: MTask): void {
    for (const d of this.dependantsOf(root.id)) {
      if (d.status !== 'pending' && !this.isBlocked(d)) continue;
      this.move(d, 'cancelled');
      this.cancelDependants(d);
    }
  }

  private revive(t: MTask, resetAttempts: boolean): void {
    const delayed = t.runAt !== null && t.runAt > this.now();
    if (resetAttempts) t.attempts = 0;
    if (this.depsCompleted(t) && !delayed) {
      this.move(t, 'queued');
    } else {
      this.move(t, 'pending');
      t.nextRunAt = delayed ? t.runAt : null;
    }
    for (const d of this.dependantsOf(t.id)) {
      if (this.isBlocked(d) && !this.hasFailedDep(d)) this.revive(d, false);
    }
  }

  // ---------------------------------------------------------------- operator actions

  cancel(id: string): Outcome {
    return this.attempt(() => {
      const t = this.must(id);
      if (t.status === 'completed' || t.status === 'cancelled') throw new ModelError('ILLEGAL_TRANSITION');
      this.move(t, 'cancelled');
      this.cancelDependants(t);
      return { ok: true, id };
    });
  }

  retry(id: string): Outcome {
    return this.attempt(() => {
      const t = this.must(id);
      if (t.status === 'failed') {
        this.move(t, 'queued');
        return { ok: true, id };
      }
      if (t.status !== 'dead_letter') throw new ModelError('ILLEGAL_TRANSITION');
      if (this.hasFailedDep(t)) throw new ModelError('DEPENDENCY_FAILED');
      // The operator's retry closes the circuit breaker.
      t.rejections = 0;
      t.expiries = 0;
      this.revive(t, true);
      return { ok: true, id };
    });
  }

  approve(id: string): Outcome {
    return this.attempt(() => {
      const t = this.must(id);
      if (t.status !== 'review') throw new ModelError('ILLEGAL_TRANSITION');
      this.move(t, 'completed');
      this.releaseDependants(t);
      return { ok: true, id };
    });
  }

  rejectReview(id: string): Outcome {
    return this.attempt(() => {
      const t = this.must(id);
      if (t.status !== 'review') throw new ModelError('ILLEGAL_TRANSITION');
      // Reopened with the feedback; the third rejection opens the circuit breaker.
      t.rejections++;
      if (t.rejections >= BREAKER_MAX) this.openBreaker(t);
      else if (t.attempts >= t.maxAttempts) {
        t.lastError = 'REVIEW_REJECTED';
        this.move(t, 'dead_letter');
        this.deadLetterDependants(t);
      } else this.move(t, 'queued');
      return { ok: true, id };
    });
  }

  // ---------------------------------------------------------------- sweeper

  /** Expired leases first, then due tasks; returns how many tasks it looked at. */
  sweep(): number {
    const now = this.now();
    let moved = 0;
    const byTime = (a: [number, MTask], b: [number, MTask]) => a[0] - b[0] || (a[1].id < b[1].id ? -1 : 1);
    const expired = [...this.tasks.values()]
      .filter((t) => t.lease && t.lease.expiresAt <= now)
      .map((t) => [t.lease!.expiresAt, t] as [number, MTask])
      .sort(byTime);
    for (const [, t] of expired) {
      moved++;
      const lease = t.lease!;
      if (t.status === 'assigned') {
        if (t.delegate === lease.agent) t.delegate = null;
        this.move(t, 'queued');
        continue;
      }
      const overall = lease.startedAt !== undefined && lease.expiresAt >= lease.startedAt + t.timeouts.overall_ms;
      t.lastError = overall ? 'TASK_TIMEOUT' : 'LEASE_EXPIRED';
      t.expiries++;
      if (t.expiries >= BREAKER_MAX) this.openBreaker(t);
      else if (t.attempts < t.maxAttempts) this.move(t, 'queued');
      else {
        this.move(t, 'dead_letter');
        this.deadLetterDependants(t);
      }
    }
    const due = [...this.tasks.values()]
      .filter((t) => t.nextRunAt !== null && t.nextRunAt <= now && (t.status === 'failed' || t.status === 'pending'))
      .map((t) => [t.nextRunAt!, t] as [number, MTask])
      .sort(byTime);
    for (const [, t] of due) {
      moved++;
      if (t.status === 'failed') this.move(t, 'queued');
      else if (this.depsCompleted(t)) this.move(t, 'queued');
      else t.nextRunAt = null;
    }
    return moved;
  }

  // ---------------------------------------------------------------- views

  queuedByLane(): Record<Lane, number> {
    const out: Record<Lane, number> = { urgent: 0, high: 0, normal: 0, low: 0 };
    for (const t of this.tasks.values()) if (t.status === 'queued') out[t.lane]++;
    return out;
  }

  countOf(status: TaskStatus): number {
    return [...this.tasks.values()].filter((t) => t.status === status).length;
  }
}
