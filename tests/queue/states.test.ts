/**
 * The store's operations against the state machine (the table itself: tests/rules/states.test.ts).
 * Every transition the table allows is reached by some operation, and every operation in every
 * state either makes an allowed transition or is refused with a stable code and writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_STATUSES, type Task, type TaskStatus } from '../../shared/task.js';
import { SwitchyardError, type ErrorCode } from '../../shared/errors.js';
import { canTransition, TRANSITIONS } from '../../hub/queue/states.js';
import type { TaskStore } from '../../hub/store/task-store.js';
import { answer } from '../../hub/workflow/rules.js';
import { A0, allEvents, makeTaskIn, openTestStore, snapshot, spec, transitionsOf, type TestStore } from '../support/queue-store.js';

// ---------------------------------------------------------------- every allowed transition, reached

describe('every transition of the table is reached by an operation', () => {
  let h: TestStore;
  const reached = new Set<string>();

  beforeAll(async () => {
    h = await openTestStore({ backoff: { baseMs: 1000, maxMs: 1000 } });
  });
  afterAll(async () => {
    await h.dispose();
  });

  /** Runs `scenario` on a task and checks that its last event is from -> to. */
  const reach = (from: TaskStatus, to: TaskStatus, scenario: (s: TaskStore) => Promise<Task>) =>
    it(`${from} -> ${to}`, async () => {
      const task = await scenario(h.store);
      const events = await transitionsOf(h.store, task.id);
      expect(events[events.length - 1]).toBe(`${from}->${to}`);
      expect((await h.store.get(task.id))!.status).toBe(to);
      reached.add(`${from}->${to}`);
    });

  const running = async (s: TaskStore, extra = {}) => makeTaskIn(s, 'running', extra);

  reach('pending', 'queued', async (s) => {
    const blocker = await running(s);
    const waiting = (await s.create(spec('dependant', { depends_on: [blocker.id] }), 'test')).task;
    await s.complete(blocker.id, blocker.generation, 'a0', 'done');
    return waiting;
  });
  reach('pending', 'cancelled', async (s) => s.cancel((await makeTaskIn(s, 'pending')).id, 'test'));
  reach('pending', 'dead_letter', async (s) => {
    const blocker = await running(s);
    const t = (await s.create(spec('dependant', { depends_on: [blocker.id] }), 'test')).task;
    await s.fail(blocker.id, blocker.generation, 'a0', { code: 'X', message: 'x', retryable: false });
    return t;
  });
  reach('queued', 'assigned', async (s) => (await s.leaseTask((await makeTaskIn(s, 'queued')).id, A0))!);
  reach('queued', 'cancelled', async (s) => s.cancel((await makeTaskIn(s, 'queued')).id, 'test'));
  reach('assigned', 'running', async (s) => {
    const t = await makeTaskIn(s, 'assigned');
    return s.accept(t.id, t.generation, 'a0');
  });
  reach('assigned', 'queued', async (s) => {
    const t = await makeTaskIn(s, 'assigned');
    return s.release(t.id, t.generation, 'a0', 'rejected');
  });
  reach('assigned', 'failed', async (s) => {
    const t = await makeTaskIn(s, 'assigned');
    return s.fail(t.id, t.generation, 'a0', { code: 'NO_START', message: 'could not start', retryable: true });
  });
  reach('assigned', 'dead_letter', async (s) => {
    const t = await makeTaskIn(s, 'assigned');
    return s.fail(t.id, t.generation, 'a0', { code: 'BAD', message: 'cannot run this', retryable: false });
  });
  reach('assigned', 'cancelled', async (s) => s.cancel((await makeTaskIn(s, 'assigned')).id, 'test'));
  reach('running', 'completed', async (s) => {
    const t = await running(s);
    return s.complete(t.id, t.generation, 'a0', 'ok');
  });
  reach('running', 'review', async (s) => {
    const t = await running(s, { review: true });
    return s.complete(t.id, t.generation, 'a0', 'ok');
  });
  reach('running', 'failed', async (s) => {
    const t = await running(s);
    return s.fail(t.id, t.generation, 'a0', { code: 'TESTS_RED', message: 'tests fail', retryable: true });
  });
  reach('running', 'queued', async (s) => {
    const t = await running(s);
    return s.release(t.id, t.generation, 'a0', 'draining');
  });
  reach('running', 'dead_letter', async (s) => {
    const t = await running(s);
    return s.fail(t.id, t.generation, 'a0', { code: 'BAD', message: 'bad', retryable: false });
  });
  reach('running', 'cancelled', async (s) => s.cancel((await running(s)).id, 'test'));
  reach('review', 'completed', async (s) => s.approve((await makeTaskIn(s, 'review')).id, 'operator'));
  reach('review', 'queued', async (s) => s.rejectReview((await makeTaskIn(s, 'review')).id, 'operator', 'wrong'));
  reach('review', 'dead_letter', async (s) => {
    // The third rejection opens the circuit breaker (default 3).
    let t = await makeTaskIn(s, 'review');
    for (let i = 0; i < 2; i++) {
      await s.rejectReview(t.id, 'operator', `wrong ${i}`);
      const leased = (await s.leaseTask(t.id, A0))!;
      const running = await s.accept(leased.id, leased.generation, 'a0');
      t = await s.complete(running.id, running.generation, 'a0', 'again');
    }
    return s.rejectReview(t.id, 'operator', 'still wrong');
  });
  reach('running', 'blocked', async (s) => makeTaskIn(s, 'blocked'));
  reach('blocked', 'queued', async (s) => s.applyRule((await makeTaskIn(s, 'blocked')).id, answer('operator', 'left')));
  reach('blocked', 'cancelled', async (s) => s.cancel((await makeTaskIn(s, 'blocked')).id, 'test'));
  reach('completed', 'queued', async (s) => (await guardianRejects(s, 1)).target);
  reach('completed', 'dead_letter', async (s) => (await guardianRejects(s, 3)).target);
  reach('review', 'cancelled', async (s) => s.cancel((await makeTaskIn(s, 'review')).id, 'test'));
  reach('failed', 'queued', async (s) => s.retry((await makeTaskIn(s, 'failed')).id, 'operator'));
  reach('failed', 'cancelled', async (s) => s.cancel((await makeTaskIn(s, 'failed')).id, 'test'));
  reach('dead_letter', 'queued', async (s) => s.retry((await makeTaskIn(s, 'dead_letter')).id, 'operator'));
  reach('dead_letter', 'pending', async (s) => {
    // A dependant dead-lettered with its dependency waits again when the dependency is retried.
    const blocker = await running(s);
    const waiting = (await s.create(spec('dependant', { depends_on: [blocker.id] }), 'test')).task;
    await s.fail(blocker.id, blocker.generation, 'a0', { code: 'X', message: 'x', retryable: false });
    await s.retry(blocker.id, 'operator');
    return waiting;
  });
  reach('dead_letter', 'cancelled', async (s) => s.cancel((await makeTaskIn(s, 'dead_letter')).id, 'test'));

  it('covers every edge of the table, and no other', () => {
    const all = TASK_STATUSES.flatMap((from) => TRANSITIONS[from].map((to) => `${from}->${to}`));
    expect([...reached].sort()).toEqual(all.sort());
  });
});

/**
 * An implementation with a QA chain, completed; its QA guardian REJECTs it `times` times (each
 * time the reopened implementation runs and completes again): the implementation as it ends.
 */
async function guardianRejects(s: TaskStore, times: number): Promise<{ target: Task }> {
  const impl = (await s.create(spec('implement it', { chain: ['qa'] }), 'test')).task;
  const qaAgent = { agentId: 'qa0', capabilities: ['role:qa'] };
  for (let i = 0; i < times; i++) {
    const leased = (await s.leaseTask(impl.id, A0))!;
    const run = await s.accept(leased.id, leased.generation, 'a0');
    await s.complete(run.id, run.generation, 'a0', 'built');
    const guardian = (await s.list({ status: 'queued' })).items.find((t) => t.guardian?.target === impl.id)!;
    const g = (await s.leaseTask(guardian.id, qaAgent))!;
    const gr = await s.accept(g.id, g.generation, 'qa0');
    await s.complete(gr.id, gr.generation, 'qa0', { verdict: 'REJECT', summary: `missing a test (${i})` });
  }
  return { target: (await s.get(impl.id))! };
}

// ---------------------------------------------------------------- every operation in every state

type OpName = 'leaseTask' | 'accept' | 'renew' | 'complete' | 'failRetryable' | 'failFinal' | 'release' | 'cancel' | 'retry' | 'approve' | 'reject';
const OPS: OpName[] = ['leaseTask', 'accept', 'renew', 'complete', 'failRetryable', 'failFinal', 'release', 'cancel', 'retry', 'approve', 'reject'];

/** What each operation does in each state: the status after it, 'null' (leaseTask found nothing), or the error code. */
const STALE: ErrorCode = 'STALE_GENERATION';
const ILLEGAL: ErrorCode = 'ILLEGAL_TRANSITION';
const MATRIX: Record<TaskStatus, Record<OpName, TaskStatus | ErrorCode | 'null'>> = {
  pending: { leaseTask: 'null', accept: STALE, renew: STALE, complete: STALE, failRetryable: STALE, failFinal: STALE, release: STALE, cancel: 'cancelled', retry: ILLEGAL, approve: ILLEGAL, reject: ILLEGAL },
  queued: { leaseTask: 'assigned', accept: STALE, renew: STALE, complete: STALE, failRetryable: STALE, failFinal: STALE, release: STALE, cancel: 'cancelled', retry: ILLEGAL, approve: ILLEGAL, reject: ILLEGAL },
  assigned: { leaseTask: 'null', accept: 'running', renew: 'assigned', complete: ILLEGAL, failRetryable: 'failed', failFinal: 'dead_letter', release: 'queued', cancel: 'cancelled', retry: ILLEGAL, approve: ILLEGAL, reject: ILLEGAL },
  running: { leaseTask: 'null', accept: 'running', renew: 'running', complete: 'completed', failRetryable: 'failed', failFinal: 'dead_letter', release: 'queued', cancel: 'cancelled', retry: ILLEGAL, approve: ILLEGAL, reject: ILLEGAL },
  blocked: { leaseTask: 'null', accept: STALE, renew: STALE, complete: STALE, failRetryable: STALE, failFinal: STALE, release: STALE, cancel: 'cancelled', retry: ILLEGAL, approve: ILLEGAL, reject: ILLEGAL },
  review: { leaseTask: 'null', accept: STALE, renew: STALE, complete: STALE, failRetryable: STALE, failFinal: STALE, release: STALE, cancel: 'cancelled', retry: ILLEGAL, approve: 'completed', reject: 'queued' },
  completed: { leaseTask: 'null', accept: STALE, renew: STALE, complete: STALE, failRetryable: STALE, failFinal: STALE, release: STALE, cancel: ILLEGAL, retry: ILLEGAL, approve: ILLEGAL, reject: ILLEGAL },
  failed: { leaseTask: 'null', accept: STALE, renew: STALE, complete: STALE, failRetryable: STALE, failFinal: STALE, release: STALE, cancel: 'cancelled', retry: 'queued', approve: ILLEGAL, reject: ILLEGAL },
  dead_letter: { leaseTask: 'null', accept: STALE, renew: STALE, complete: STALE, failRetryable: STALE, failFinal: STALE, release: STALE, cancel: 'cancelled', retry: 'queued', approve: ILLEGAL, reject: ILLEGAL },
  cancelled: { leaseTask: 'null', accept: STALE, renew: STALE, complete: STALE, failRetryable: STALE, failFinal: STALE, release: STALE, cancel: ILLEGAL, retry: ILLEGAL, approve: ILLEGAL, reject: ILLEGAL },
};

function apply(store: TaskStore, op: OpName, t: Task): Promise<Task | null> {
  // The current holder and generation when leased; otherwise what an agent last knew.
  const gen = t.lease?.generation ?? t.generation;
  const who = t.lease?.agent_id ?? 'a0';
  switch (op) {
    case 'leaseTask':
      return store.leaseTask(t.id, A0);
    case 'accept':
      return store.accept(t.id, gen, who);
    case 'renew':
      return store.renew(t.id, gen, who);
    case 'complete':
      return store.complete(t.id, gen, who, 'result');
    case 'failRetryable':
      return store.fail(t.id, gen, who, { code: 'E', message: 'e', retryable: true });
    case 'failFinal':
      return store.fail(t.id, gen, who, { code: 'E', message: 'e', retryable: false });
    case 'release':
      return store.release(t.id, gen, who, 'no');
    case 'cancel':
      return store.cancel(t.id, 'operator');
    case 'retry':
      return store.retry(t.id, 'operator');
    case 'approve':
      return store.approve(t.id, 'operator');
    case 'reject':
      return store.rejectReview(t.id, 'operator', 'no');
  }
}

describe('every operation in every state', () => {
  let h: TestStore;
  beforeAll(async () => {
    h = await openTestStore();
  });
  afterAll(async () => {
    await h.dispose();
  });

  for (const status of TASK_STATUSES) {
    for (const op of OPS) {
      const want = MATRIX[status][op];
      it(`${op} on a ${status} task -> ${want}`, async () => {
        const t = await makeTaskIn(h.store, status);
        expect(t.status).toBe(status);
        const before = await snapshot(h.store);
        let got: string;
        try {
          const after = await apply(h.store, op, t);
          got = after === null ? 'null' : after.status;
        } catch (err) {
          if (!(err instanceof SwitchyardError)) throw err;
          got = err.code;
        }
        expect(got).toBe(want);
        const now = await snapshot(h.store);
        if (want === 'null' || (want as string) === status || !(TASK_STATUSES as readonly string[]).includes(want)) {
          // Refused, or nothing to do: no new event; only a renewal may move the lease's expiry.
          expect(now.events).toEqual(before.events);
          if (op !== 'renew') expect(now.tasks).toEqual(before.tasks);
        } else {
          // Every event the operation wrote is a transition of the table.
          const fresh = now.events.slice(before.events.length);
          expect(fresh.length).toBeGreaterThan(0);
          for (const e of fresh) expect(canTransition(e.from!, e.to), `${e.from} -> ${e.to}`).toBe(true);
          expect(fresh[0]).toMatchObject({ task_id: t.id, from: status, to: want });
        }
        expect((await h.store.verifyIntegrity()).problems).toEqual([]);
      });
    }
  }

  it('every event in the log is a transition of the table', async () => {
    for (const e of await allEvents(h.store)) {
      if (e.type === 'created') expect(e.from).toBeNull();
      else expect(canTransition(e.from!, e.to), `${e.from} -> ${e.to}`).toBe(true);
    }
  });
});
