/**
 * Property test: random sequences of queue operations run against the task store (each backend of
 * the conformance suite) and against the naive reference model (tests/support/queue-model.ts). After every step the outcome, every
 * task's state, the new audit events, the queue counts and the store's integrity must agree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SwitchyardError } from '../../shared/errors.js';
import type { Lane, Task, TaskSpec } from '../../shared/task.js';
import { canTransition } from '../../hub/queue/states.js';
import type { TaskStoreOptions } from '../../hub/store/kv-task-store.js';
import type { AgentFilter } from '../../hub/store/task-store.js';
import { QueueModel, type MEvent, type MTask, type Outcome } from '../support/queue-model.js';
import { allTasks, FakeClock, openTestStore } from '../support/queue-store.js';

const AGENTS: AgentFilter[] = [
  { agentId: 'a0', capabilities: [], repos: null },
  { agentId: 'a1', capabilities: ['gpu'], repos: ['r1'] },
  { agentId: 'a2', capabilities: ['gpu', 'rust'] },
  { agentId: 'a3', capabilities: ['rust'], repos: ['r1', 'r2'] },
];

const TASK_DEFAULTS = { maxAttempts: 3, timeouts: { start_ms: 30_000, lease_ms: 60_000, overall_ms: 150_000 } };
const BACKOFF = { baseMs: 1_000, maxMs: 60_000 };
const STARVATION_MS = 100_000;

// ---------------------------------------------------------------- generated operations

interface GenSpec {
  hasRef: boolean;
  lane: Lane;
  caps: string[];
  repo: string | null;
  delegate: string | null;
  deps: Array<{ kind: 'task' | 'ref'; n: number }>;
  idem: string | null;
  review: boolean;
  maxAttempts: number | null;
  runAt: number | null;
  longLease: boolean;
}

type Variant = 'holder' | 'stale' | 'other';
type Op =
  | { k: 'create'; specs: GenSpec[] }
  | { k: 'createUnknownDep' }
  | { k: 'createInvalid' }
  | { k: 'lease'; agent: number }
  | { k: 'leaseTask'; task: TaskPick; agent: number }
  | { k: 'accept' | 'renew' | 'complete' | 'release'; task: TaskPick; variant: Variant }
  | { k: 'fail'; task: TaskPick; variant: Variant; retryable: boolean }
  | { k: 'cancel' | 'retry' | 'approve' | 'reject'; task: TaskPick }
  | { k: 'tick'; ms: number }
  | { k: 'reopen' };

const genSpec: fc.Arbitrary<GenSpec> = fc.record({
  hasRef: fc.boolean(),
  lane: fc.constantFrom<Lane>('urgent', 'high', 'normal', 'normal', 'low'),
  caps: fc.constantFrom<string[]>([], [], [], ['gpu'], ['rust'], ['gpu', 'rust']),
  repo: fc.constantFrom<string | null>(null, null, 'r1', 'r2'),
  delegate: fc.constantFrom<string | null>(null, null, null, null, 'a1', 'a2'),
  deps: fc.oneof(
    { weight: 2, arbitrary: fc.constant<GenSpec['deps']>([]) },
    { weight: 1, arbitrary: fc.array(fc.record({ kind: fc.constantFrom<'task' | 'ref'>('task', 'task', 'ref'), n: fc.nat(50) }), { minLength: 1, maxLength: 2 }) },
  ),
  idem: fc.option(fc.constantFrom('k0', 'k1', 'k2', 'k3', 'k4', 'k5'), { freq: 3 }),
  review: fc.boolean(),
  maxAttempts: fc.constantFrom(null, 1, 2),
  runAt: fc.constantFrom(null, null, null, -1_000, 5_000, 120_000),
  longLease: fc.boolean(),
});

/**
 * Which task an operation names: usually one for which the operation makes sense (a leased task
 * for accept, a task in review for approve...), sometimes any task, so that refusals are tested too.
 */
const task = fc.record({ n: fc.nat(1000), fit: fc.constantFrom(true, true, true, false) });
type TaskPick = { n: number; fit: boolean };
const variant = fc.constantFrom<Variant>('holder', 'holder', 'holder', 'stale', 'other');

const genOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 7, arbitrary: fc.record({ k: fc.constant('create' as const), specs: fc.array(genSpec, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'createUnknownDep' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'createInvalid' as const }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('lease' as const), agent: fc.nat(AGENTS.length - 1) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('leaseTask' as const), task, agent: fc.nat(AGENTS.length - 1) }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('accept' as const), task, variant }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('renew' as const), task, variant }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('complete' as const), task, variant }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('fail' as const), task, variant, retryable: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('release' as const), task, variant }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('cancel' as const), task }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('retry' as const), task }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('approve' as const), task }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('reject' as const), task }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('tick' as const), ms: fc.constantFrom(1, 500, 2_000, 30_000, 61_000, STARVATION_MS, 400_000) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'reopen' as const }) },
);

// ---------------------------------------------------------------- running one sequence

function toSpecs(gen: GenSpec[], ids: string[], now: number): TaskSpec[] {
  return gen.map((g, i) => {
    const deps = new Set<string>();
    for (const d of g.deps) {
      if (d.kind === 'task' && ids.length > 0) deps.add(ids[d.n % ids.length]!);
      if (d.kind === 'ref' && gen[d.n % gen.length]!.hasRef) deps.add(`r${d.n % gen.length}`);
    }
    const spec: TaskSpec = { title: `task ${i}`, lane: g.lane, review: g.review };
    if (g.hasRef) spec.ref = `r${i}`;
    if (g.caps.length > 0) spec.capabilities = g.caps;
    if (g.repo) spec.repo = g.repo;
    if (g.delegate) spec.agent = g.delegate;
    if (deps.size > 0) spec.depends_on = [...deps];
    if (g.idem) spec.idempotency_key = g.idem;
    if (g.maxAttempts) spec.max_attempts = g.maxAttempts;
    if (g.runAt !== null) spec.run_at = now + g.runAt;
    if (g.longLease) spec.timeouts = { lease_ms: 200_000 };
    return spec;
  });
}

async function outcomeOf(fn: () => Promise<Task | null>): Promise<Outcome> {
  try {
    const t = await fn();
    return { ok: true, id: t ? t.id : null };
  } catch (err) {
    if (err instanceof SwitchyardError) return { ok: false, code: err.code };
    throw err;
  }
}

const eventKey = (e: MEvent): string => `${e.task} ${e.from ?? '-'}->${e.to} g${e.generation}`;

function describeTask(t: Task): object {
  return {
    status: t.status,
    generation: t.generation,
    attempts: t.attempts,
    delegate: t.delegate,
    lease: t.lease ? { agent: t.lease.agent_id, generation: t.lease.generation, expiresAt: t.lease.expires_at } : null,
    queuedAt: t.queued_at,
    nextRunAt: t.next_run_at,
    lastError: t.last_error?.code ?? null,
    dependsOn: t.depends_on,
  };
}

function describeModel(t: MTask): object {
  return {
    status: t.status,
    generation: t.generation,
    attempts: t.attempts,
    delegate: t.delegate,
    lease: t.lease ? { agent: t.lease.agent, generation: t.lease.generation, expiresAt: t.lease.expiresAt } : null,
    queuedAt: t.queuedAt,
    nextRunAt: t.nextRunAt,
    lastError: t.lastError,
    dependsOn: t.dependsOn,
  };
}

/** Runs `ops` against a fresh store and a fresh model, comparing after every step; returns the model. */
async function runSequence(ops: Op[], random: number): Promise<QueueModel> {
  const clock = new FakeClock();
  const options: Partial<TaskStoreOptions> = {
    now: clock.now,
    random: () => random,
    autoSweep: false,
    starvationMs: STARVATION_MS,
    backoff: BACKOFF,
    taskDefaults: TASK_DEFAULTS,
  };
  const h = await openTestStore(options, clock);
  let store = h.store;
  const model = new QueueModel({
    now: clock.now,
    random,
    starvationMs: STARVATION_MS,
    backoff: BACKOFF,
    maxAttempts: TASK_DEFAULTS.maxAttempts,
    timeouts: TASK_DEFAULTS.timeouts,
  });
  let cursor: string | undefined;
  let seenModelEvents = 0;
  try {
    for (const [step, op] of ops.entries()) {
      const ids = [...model.tasks.keys()];
      const fits: Record<string, (t: MTask) => boolean> = {
        leaseTask: (t) => t.status === 'queued',
        accept: (t) => t.status === 'assigned',
        renew: (t) => t.lease !== null,
        complete: (t) => t.status === 'running',
        release: (t) => t.lease !== null,
        fail: (t) => t.lease !== null,
        // Cancelling a dead-lettered or waiting task reaches the cascade over blocked dependants.
        cancel: (t) => t.status === 'dead_letter' || t.status === 'pending',
        retry: (t) => t.status === 'dead_letter' || t.status === 'failed',
        approve: (t) => t.status === 'review',
        reject: (t) => t.status === 'review',
      };
      const pickTask = (p: TaskPick): MTask | undefined => {
        const all = [...model.tasks.values()];
        const fitting = p.fit ? all.filter(fits[op.k] ?? (() => true)) : [];
        const pool = fitting.length > 0 ? fitting : all;
        return pool.length > 0 ? pool[p.n % pool.length] : undefined;
      };
      // The arguments of a lease operation: the holder's, an older generation, or another agent.
      const leaseArgs = (t: MTask, v: Variant): [string, number, string] => {
        const holder = t.lease?.agent ?? 'a0';
        const gen = t.lease?.generation ?? t.generation;
        if (v === 'stale') return [t.id, gen - 1, holder];
        if (v === 'other') return [t.id, gen, AGENTS.find((a) => a.agentId !== holder)!.agentId];
        return [t.id, gen, holder];
      };
      let got: Outcome;
      let want: Outcome;
      const where = () => `step ${step}: ${JSON.stringify(op)}`;
      switch (op.k) {
        case 'create': {
          const specs = toSpecs(op.specs, ids, clock.t);
          try {
            const results = await store.createMany(specs, 'prop');
            got = { ok: true, created: results.map((r) => ({ id: r.task.id, created: r.created })) };
          } catch (err) {
            if (!(err instanceof SwitchyardError)) throw err;
            got = { ok: false, code: err.code };
          }
          const storeIds = 'created' in got ? got.created.map((c) => c.id) : [];
          want = model.createMany(specs, (i) => storeIds[i]);
          break;
        }
        case 'createUnknownDep': {
          const specs = [{ title: 'orphan', depends_on: ['01NOSUCHTASK0000000000000'] }];
          got = await store.createMany(specs, 'prop').then(
            () => ({ ok: true, id: null }) as Outcome,
            (err: SwitchyardError) => ({ ok: false, code: err.code }) as Outcome,
          );
          want = model.createMany(specs, () => undefined);
          break;
        }
        case 'createInvalid': {
          const specs = [{ title: 'fine' }, { title: '' }];
          got = await store.createMany(specs, 'prop').then(
            () => ({ ok: true, id: null }) as Outcome,
            (err: SwitchyardError) => ({ ok: false, code: err.code }) as Outcome,
          );
          want = model.createMany(specs, () => undefined);
          break;
        }
        case 'lease': {
          const who = AGENTS[op.agent]!;
          got = await outcomeOf(() => store.leaseNext(who));
          want = model.leaseNext(who);
          break;
        }
        case 'leaseTask': {
          const t = pickTask(op.task);
          if (!t) continue;
          // When aiming, the first agent from op.agent on that may run the task.
          const order = AGENTS.map((_, i) => AGENTS[(op.agent + i) % AGENTS.length]!);
          const who = (op.task.fit ? order.find((a) => model.matches(a, t)) : undefined) ?? AGENTS[op.agent]!;
          got = await outcomeOf(() => store.leaseTask(t.id, who));
          want = model.leaseTask(t.id, who);
          break;
        }
        case 'accept':
        case 'renew':
        case 'complete':
        case 'release':
        case 'fail': {
          const t = pickTask(op.task);
          if (!t) continue;
          const [id, gen, who] = leaseArgs(t, op.variant);
          if (op.k === 'accept') {
            got = await outcomeOf(() => store.accept(id, gen, who));
            want = model.accept(id, gen, who);
          } else if (op.k === 'renew') {
            got = await outcomeOf(() => store.renew(id, gen, who));
            want = model.renew(id, gen, who);
          } else if (op.k === 'complete') {
            got = await outcomeOf(() => store.complete(id, gen, who, { ok: true }));
            want = model.complete(id, gen, who);
          } else if (op.k === 'release') {
            got = await outcomeOf(() => store.release(id, gen, who, 'giving back'));
            want = model.release(id, gen, who);
          } else if (op.k === 'fail') {
            const retryable = op.retryable;
            got = await outcomeOf(() => store.fail(id, gen, who, { code: 'AGENT_ERROR', message: 'boom', retryable }));
            want = model.fail(id, gen, who, retryable);
          } else {
            throw new Error('unreachable');
          }
          break;
        }
        case 'cancel':
        case 'retry':
        case 'approve':
        case 'reject': {
          const t = pickTask(op.task);
          if (!t) continue;
          if (op.k === 'cancel') {
            got = await outcomeOf(() => store.cancel(t.id, 'op'));
            want = model.cancel(t.id);
          } else if (op.k === 'retry') {
            got = await outcomeOf(() => store.retry(t.id, 'op'));
            want = model.retry(t.id);
          } else if (op.k === 'approve') {
            got = await outcomeOf(() => store.approve(t.id, 'op'));
            want = model.approve(t.id);
          } else {
            got = await outcomeOf(() => store.rejectReview(t.id, 'op', 'not good enough'));
            want = model.rejectReview(t.id);
          }
          break;
        }
        case 'tick': {
          clock.advance(op.ms);
          got = { ok: true, id: String(await store.sweep()) };
          want = { ok: true, id: String(model.sweep()) };
          break;
        }
        case 'reopen': {
          store = await h.reopen();
          got = { ok: true, id: null };
          model.sweep();
          want = { ok: true, id: null };
          break;
        }
      }
      expect(got, where()).toEqual(want);

      // The audit events this step wrote, compared as a set (one event per task per step).
      const fresh = [];
      for (;;) {
        const page = await store.events({ limit: 1000, ...(cursor !== undefined ? { after: cursor } : {}) });
        fresh.push(...page.items);
        if (page.items.length > 0) cursor = page.items[page.items.length - 1]!.id;
        if (page.next === null) break;
      }
      for (const e of fresh) {
        if (e.from !== null) expect(canTransition(e.from, e.to), `${where()}: ${e.from} -> ${e.to} is not in the table`).toBe(true);
      }
      const storeEvents = fresh.map((e) => eventKey({ task: e.task_id, from: e.from, to: e.to, generation: e.generation })).sort();
      const modelEvents = model.events.slice(seenModelEvents).map(eventKey).sort();
      seenModelEvents = model.events.length;
      expect(storeEvents, `${where()}: events`).toEqual(modelEvents);

      // Every task's state.
      const tasks = await allTasks(store);
      expect(tasks.map((t) => t.id).sort(), `${where()}: task ids`).toEqual([...model.tasks.keys()].sort());
      for (const t of tasks) expect(describeTask(t), `${where()}: task ${t.id}`).toEqual(describeModel(model.tasks.get(t.id)!));

      // Counts kept in memory, and the indexes against the records.
      const stats = await store.stats();
      expect(stats.queued, `${where()}: queued per lane`).toEqual(model.queuedByLane());
      for (const s of ['pending', 'assigned', 'running', 'review', 'failed', 'dead_letter'] as const) {
        expect(stats.byStatus[s], `${where()}: count of ${s}`).toBe(model.countOf(s));
      }
      const integrity = await store.verifyIntegrity();
      expect(integrity.problems, `${where()}: integrity`).toEqual([]);
    }
    return model;
  } finally {
    await h.dispose();
  }
}

describe('the task store agrees with the reference model', () => {
  it('on random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(genOp, { minLength: 5, maxLength: 40, size: 'max' }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), async (ops, random) => {
        await runSequence(ops, random);
      }),
      { numRuns: 50 },
    );
  });

  // Scripted sequences: situations too rare for random generation to reach reliably, each checked
  // step by step against the model like the random ones, and then for the end state it aimed at.
  const spec = (over: Partial<GenSpec>): GenSpec => ({
    hasRef: true,
    lane: 'normal',
    caps: [],
    repo: null,
    delegate: null,
    deps: [],
    idem: null,
    review: false,
    maxAttempts: 1,
    runAt: null,
    longLease: false,
    ...over,
  });
  const on = (n: number): TaskPick => ({ n, fit: false });
  const statuses = (model: QueueModel) => [...model.tasks.values()].map((t) => t.status);

  it('on a chain through dependencies, idempotency, review, expiry, reopen and cancel', async () => {
    // Tasks: 0 = A, 1 = B (needs A), 2 = C (needs B), 3 = D (review, idempotency key k1).
    const model = await runSequence(
      [
        { k: 'create', specs: [spec({}), spec({ deps: [{ kind: 'ref', n: 0 }] }), spec({ deps: [{ kind: 'ref', n: 1 }] })] },
        { k: 'create', specs: [spec({ review: true, idem: 'k1' })] },
        { k: 'create', specs: [spec({ idem: 'k1' })] },
        { k: 'lease', agent: 0 },
        { k: 'accept', task: on(0), variant: 'holder' },
        { k: 'fail', task: on(0), variant: 'stale', retryable: true },
        { k: 'fail', task: on(0), variant: 'holder', retryable: false },
        { k: 'retry', task: on(2) },
        { k: 'retry', task: on(0) },
        { k: 'lease', agent: 0 },
        { k: 'accept', task: on(0), variant: 'holder' },
        { k: 'complete', task: on(0), variant: 'holder' },
        { k: 'lease', agent: 0 },
        { k: 'lease', agent: 0 },
        { k: 'accept', task: on(3), variant: 'holder' },
        { k: 'complete', task: on(3), variant: 'holder' },
        { k: 'reject', task: on(3) },
        { k: 'tick', ms: 61_000 },
        { k: 'tick', ms: 400_000 },
        { k: 'reopen' },
        { k: 'lease', agent: 1 },
        { k: 'cancel', task: on(1) },
        { k: 'approve', task: on(3) },
      ],
      0.5,
    );
    expect(statuses(model)).toEqual(['completed', 'cancelled', 'cancelled', 'dead_letter']);
  });

  it('on two failed dependencies, retried one at a time, then a cancelled one', async () => {
    // Tasks: 0 = A, 1 = B, 2 = D (needs A and B), 3 = E (needs D).
    const model = await runSequence(
      [
        {
          k: 'create',
          specs: [
            spec({}),
            spec({}),
            spec({ deps: [{ kind: 'ref', n: 0 }, { kind: 'ref', n: 1 }] }),
            spec({ deps: [{ kind: 'ref', n: 2 }] }),
          ],
        },
        { k: 'lease', agent: 0 },
        { k: 'accept', task: on(0), variant: 'holder' },
        { k: 'fail', task: on(0), variant: 'holder', retryable: false },
        { k: 'lease', agent: 0 },
        { k: 'accept', task: on(1), variant: 'holder' },
        { k: 'fail', task: on(1), variant: 'holder', retryable: false },
        { k: 'retry', task: on(2) },
        { k: 'retry', task: on(0) },
        { k: 'retry', task: on(1) },
        { k: 'lease', agent: 0 },
        { k: 'accept', task: on(0), variant: 'holder' },
        { k: 'fail', task: on(0), variant: 'holder', retryable: false },
        { k: 'cancel', task: on(0) },
      ],
      0.5,
    );
    expect(statuses(model)).toEqual(['cancelled', 'queued', 'cancelled', 'cancelled']);
  });

  it('on a task leased and given back twice in one millisecond (ready-index bookkeeping)', async () => {
    const model = await runSequence(
      [
        { k: 'create', specs: [spec({})] },
        { k: 'leaseTask', task: on(0), agent: 0 },
        { k: 'release', task: on(0), variant: 'holder' },
        { k: 'leaseTask', task: on(0), agent: 0 },
        { k: 'release', task: on(0), variant: 'holder' },
        { k: 'lease', agent: 0 },
        { k: 'lease', agent: 0 },
      ],
      0.5,
    );
    expect(statuses(model)).toEqual(['assigned']);
  });
});
