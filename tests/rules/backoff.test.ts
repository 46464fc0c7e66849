/** The backoff formula (hub/queue/backoff.ts), without a store. Retries in the store: tests/queue/retries.test.ts. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, retryDelayMs } from '../../hub/queue/backoff.js';

describe('the backoff formula', () => {
  it('doubles from baseMs per attempt, capped at maxMs, with half of it fixed and half jitter', () => {
    const opts = { baseMs: 1000, maxMs: 10_000 };
    expect(retryDelayMs(1, 0, opts)).toBe(500);
    expect(retryDelayMs(1, 0.999999, opts)).toBe(1000);
    expect(retryDelayMs(2, 0, opts)).toBe(1000);
    expect(retryDelayMs(3, 0.5, opts)).toBe(3000); // exp 4000: 2000 + 0.5 * 2000
    expect(retryDelayMs(4, 0, opts)).toBe(4000); // exp 8000
    expect(retryDelayMs(5, 0, opts)).toBe(5000); // capped at 10000
    expect(retryDelayMs(50, 0.999999, opts)).toBe(10_000);
    expect(retryDelayMs(0, 0, opts)).toBe(500); // attempt 0 is treated as the first
  });

  it('never retries instantly and never exceeds the cap, for any draw', () => {
    for (let attempt = 1; attempt <= 30; attempt++) {
      for (const r of [0, 0.1, 0.5, 0.9, 0.999]) {
        const d = retryDelayMs(attempt, r);
        expect(d).toBeGreaterThanOrEqual(DEFAULT_BACKOFF.baseMs / 2);
        expect(d).toBeLessThanOrEqual(DEFAULT_BACKOFF.maxMs);
      }
    }
  });
});
