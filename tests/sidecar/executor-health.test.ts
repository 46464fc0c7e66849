/** The health table alone: how faults found by runs overlay descriptions, clear, and back off. */
import { describe, expect, it } from 'vitest';
import { ExecutorHealth } from '../../sidecar/executor-health.js';
import type { ExecutorInfo } from '../../sidecar/executors/executor.js';

const up = (models: string[] = []): ExecutorInfo => ({ name: 'ollama', available: true, models });
const claudeUp: ExecutorInfo = { name: 'claude', available: true, models: [], detail: '2.1.197; logged in' };

describe('ExecutorHealth', () => {
  it('an executor fault holds against a cheap describe, and clears at the first deep recheck that works', () => {
    const h = new ExecutorHealth({ recheckMinMs: 1000, recheckMaxMs: 8000 });
    h.report({ executor: 'claude', code: 'EXEC_UNAVAILABLE', message: 'not logged in' }, 0);
    expect(h.overlay([claudeUp], 10, false)[0]).toMatchObject({ available: false, reason: 'not logged in', since: 0 });
    expect(h.nextRecheckAt(10)).toBe(1000);
    // A deep recheck that still fails (describe says down) backs off: 2 s, then 4 s, up to 8 s.
    const down: ExecutorInfo = { name: 'claude', available: false, models: [], detail: 'still not logged in' };
    h.overlay([down], 1000, true);
    expect(h.nextRecheckAt(1000)).toBe(3000);
    h.overlay([down], 3000, true);
    expect(h.nextRecheckAt(3000)).toBe(7000);
    h.overlay([down], 7000, true);
    h.overlay([down], 15000, true);
    expect(h.nextRecheckAt(15000)).toBe(23000);
    const back = h.overlay([claudeUp], 23000, true)[0]!;
    expect(back).toEqual({ name: 'claude', available: true, models: [], reason: '2.1.197; logged in' });
    expect(h.faults).toBe(0);
  });

  it('a usage limit holds until its reset, whatever describe says, then clears', () => {
    const h = new ExecutorHealth({ recheckMinMs: 1000, recheckMaxMs: 8000 });
    h.report({ executor: 'claude', code: 'EXEC_USAGE_LIMIT', message: 'limit', until: 5000 }, 0);
    expect(h.overlay([claudeUp], 4999, true)[0]).toMatchObject({ available: false, until: 5000 });
    expect(h.nextRecheckAt(4999)).toBe(5000);
    expect(h.overlay([claudeUp], 5000, false)[0]!.available).toBe(true);
    // Without a reset time it holds for the longest recheck interval.
    h.report({ executor: 'claude', code: 'EXEC_USAGE_LIMIT', message: 'limit' }, 10_000);
    expect(h.overlay([claudeUp], 10_001, true)[0]).toMatchObject({ available: false, until: 18_000 });
  });

  it('a model fault removes only that model, and clears when a deep recheck lists it again', () => {
    const h = new ExecutorHealth();
    h.report({ executor: 'ollama', code: 'EXEC_MODEL_MISSING', message: 'model "b" not found', model: 'b' }, 0);
    const advert = h.overlay([up(['a', 'b'])], 1, false)[0]!;
    expect(advert).toMatchObject({ available: true, models: ['a'], model_faults: [{ name: 'b', reason: 'model "b" not found', since: 0 }] });
    expect(h.overlay([up(['a'])], 2, true)[0]!.model_faults).toHaveLength(1);
    expect(h.overlay([up(['a', 'b'])], 3, true)[0]).toEqual({ name: 'ollama', available: true, models: ['a', 'b'] });
  });

  it('an executor that describe says is down is rechecked (at the longest interval) with its own reason and since', () => {
    const h = new ExecutorHealth({ recheckMinMs: 1000, recheckMaxMs: 8000 });
    const down: ExecutorInfo = { name: 'ollama', available: false, models: [], detail: 'not reachable' };
    expect(h.overlay([down], 100, false)[0]).toEqual({ name: 'ollama', available: false, models: [], reason: 'not reachable', since: 100 });
    expect(h.overlay([down], 200, false)[0]!.since).toBe(100);
    expect(h.nextRecheckAt(200)).toBe(8200);
    h.overlay([up()], 300, false);
    expect(h.nextRecheckAt(300)).toBeNull();
  });
});
