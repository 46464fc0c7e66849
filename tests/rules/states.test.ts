/**
 * The state machine's table (hub/queue/states.ts), without a store. The store's operations
 * against it: tests/queue/states.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { TASK_STATUSES, type TaskStatus } from '../../shared/task.js';
import { SwitchyardError } from '../../shared/errors.js';
import { assertTransition, canTransition, FINAL_STATUSES, LEASED_STATUSES, TRANSITIONS } from '../../hub/queue/states.js';

/** The table, written out again by hand: a change to states.ts must be a deliberate change here too. */
const EXPECTED: Record<TaskStatus, TaskStatus[]> = {
  pending: ['queued', 'cancelled', 'dead_letter'],
  queued: ['assigned', 'cancelled'],
  assigned: ['running', 'queued', 'failed', 'dead_letter', 'cancelled'],
  running: ['completed', 'review', 'failed', 'queued', 'dead_letter', 'cancelled', 'blocked'],
  blocked: ['queued', 'cancelled'],
  review: ['completed', 'queued', 'dead_letter', 'cancelled'],
  failed: ['queued', 'cancelled'],
  dead_letter: ['queued', 'pending', 'cancelled'],
  // A guardian's REJECT reopens a completed implementation (docs/workflow.md).
  completed: ['queued', 'dead_letter'],
  cancelled: [],
};

describe('the transition table', () => {
  it('allows exactly the listed transitions, all 100 pairs checked', () => {
    for (const from of TASK_STATUSES) {
      for (const to of TASK_STATUSES) {
        expect(canTransition(from, to), `${from} -> ${to}`).toBe(EXPECTED[from].includes(to));
      }
    }
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...TASK_STATUSES].sort());
  });

  it('refuses an unlisted transition with ILLEGAL_TRANSITION naming both ends', () => {
    let err: unknown;
    try {
      assertTransition('t1', 'cancelled', 'queued');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SwitchyardError);
    expect((err as SwitchyardError).code).toBe('ILLEGAL_TRANSITION');
    expect((err as SwitchyardError).details).toEqual({ task_id: 't1', from: 'cancelled', to: 'queued' });
    expect(() => assertTransition('t1', 'queued', 'assigned')).not.toThrow();
  });

  it('final states have no way out but a guardian reopening completed work, and leased states are assigned and running', () => {
    expect([...FINAL_STATUSES].sort()).toEqual(['cancelled', 'completed']);
    expect(TRANSITIONS.cancelled).toEqual([]);
    expect(TRANSITIONS.completed).toEqual(['queued', 'dead_letter']);
    expect([...LEASED_STATUSES].sort()).toEqual(['assigned', 'running']);
  });
});
