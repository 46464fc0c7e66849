/**
 * Reconnect reconciliation as a pure decision (hub/gateway/reconcile.ts): every row of the table
 * in docs/protocol.md, without a socket or a store.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DROP_REASON, LOST_MESSAGE, reconcile, RELEASE_REASON, type HeldLease, type ListedTask } from '../../hub/gateway/reconcile.js';

const listed = (task_id: string, generation: number): ListedTask => ({ task_id, generation });
const held = (task_id: string, generation: number, status: HeldLease['status'] = 'running'): HeldLease => ({ task_id, generation, status });

describe('reconcile', () => {
  it('resumes what both sides agree on', () => {
    expect(reconcile([listed('A', 2)], [held('A', 2)])).toEqual([{ action: 'resume', task_id: 'A', generation: 2 }]);
    expect(reconcile([listed('A', 1)], [held('A', 1, 'assigned')])).toEqual([{ action: 'resume', task_id: 'A', generation: 1 }]);
  });

  it('drops a listed task the hub does not lease to this agent', () => {
    expect(reconcile([listed('A', 1)], [])).toEqual([{ action: 'drop', task_id: 'A', generation: 1, reason: DROP_REASON.notLeased }]);
    expect(DROP_REASON.notLeased).toBe('no longer leased to this agent');
  });

  it('drops a listed older generation as superseded, and reclaims the newer lease the sidecar does not have', () => {
    expect(reconcile([listed('A', 1)], [held('A', 3)])).toEqual([
      { action: 'drop', task_id: 'A', generation: 1, reason: 'superseded by a newer assignment (generation 3)' },
      { action: 'fail', task_id: 'A', generation: 3, code: 'AGENT_LOST_TASK', message: LOST_MESSAGE },
    ]);
  });

  it('does not call a listed generation newer than the hub\u2019s "superseded"', () => {
    const [drop, reclaim] = reconcile([listed('A', 5)], [held('A', 2, 'assigned')]);
    expect(drop).toEqual({ action: 'drop', task_id: 'A', generation: 5, reason: 'not a generation the hub assigned: its lease is at generation 2' });
    expect(drop!.action === 'drop' && drop!.reason).not.toMatch(/superseded/);
    expect(reclaim).toEqual({ action: 'release', task_id: 'A', generation: 2, reason: RELEASE_REASON });
  });

  it('reclaims what the sidecar did not list: offers released, running tasks failed as lost', () => {
    expect(reconcile([], [held('A', 1, 'assigned'), held('B', 4, 'running')])).toEqual([
      { action: 'release', task_id: 'A', generation: 1, reason: 'agent reconnected without it' },
      { action: 'fail', task_id: 'B', generation: 4, code: 'AGENT_LOST_TASK', message: 'the agent reconnected without this task' },
    ]);
  });

  it('answers in the order of in_flight, then reclaims in the order of the leases', () => {
    const out = reconcile([listed('C', 1), listed('A', 1), listed('B', 9)], [held('X', 1), held('A', 1), held('Y', 2, 'assigned')]);
    expect(out.map((d) => `${d.action}:${d.task_id}`)).toEqual(['drop:C', 'resume:A', 'drop:B', 'fail:X', 'release:Y']);
  });

  it('decides a task listed twice once, by its first listing', () => {
    expect(reconcile([listed('A', 1), listed('A', 1)], [held('A', 1)])).toEqual([{ action: 'resume', task_id: 'A', generation: 1 }]);
  });

  it('always: one answer per distinct listed task, every lease either resumed or reclaimed, never both', () => {
    const gen = fc.integer({ min: 1, max: 4 });
    const id = fc.constantFrom('A', 'B', 'C', 'D');
    fc.assert(
      fc.property(
        fc.array(fc.record({ task_id: id, generation: gen }), { maxLength: 6 }),
        fc.uniqueArray(fc.record({ task_id: id, generation: gen, status: fc.constantFrom('assigned' as const, 'running' as const) }), { selector: (l) => l.task_id, maxLength: 4 }),
        (inFlight, leases) => {
          const out = reconcile(inFlight, leases);
          const answers = out.filter((d) => d.action === 'resume' || d.action === 'drop');
          expect(answers.map((d) => d.task_id)).toEqual([...new Set(inFlight.map((i) => i.task_id))]);
          for (const lease of leases) {
            const resumed = out.some((d) => d.action === 'resume' && d.task_id === lease.task_id && d.generation === lease.generation);
            const reclaimed = out.some((d) => (d.action === 'release' || d.action === 'fail') && d.task_id === lease.task_id && d.generation === lease.generation);
            expect(resumed !== reclaimed).toBe(true);
            if (reclaimed) expect(out.find((d) => d.task_id === lease.task_id && d.action !== 'drop')!.action).toBe(lease.status === 'assigned' ? 'release' : 'fail');
          }
          for (const d of out) if (d.action === 'resume') expect(leases.some((l) => l.task_id === d.task_id && l.generation === d.generation)).toBe(true);
        },
      ),
    );
  });
});
