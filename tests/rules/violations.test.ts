/** Violations and escalating disconnects (hub/edge/violations.ts): the threshold, 30 s / 1 min / 5 min, and decay. */
import { describe, expect, it } from 'vitest';
import { Violations, VIOLATION_DEFAULTS } from '../../hub/edge/violations.js';

function tracker() {
  let now = 1_000_000;
  const v = new Violations(VIOLATION_DEFAULTS, () => now);
  return { v, advance: (ms: number) => (now += ms), at: () => now };
}

const burst = (v: Violations, key: string, n = VIOLATION_DEFAULTS.max) => {
  let wait = 0;
  for (let i = 0; i < n; i++) wait = v.record([key], 'bad frame');
  return wait;
};

describe('violations', () => {
  it('below the threshold nothing happens; at it, the subject is out for 30 s, then 1 min, then 5 min', () => {
    const { v, advance } = tracker();
    expect(burst(v, 'agent:a', 19)).toBe(0);
    expect(v.view('agent:a')).toMatchObject({ recent: 19, banned_until: null, disconnects_last_hour: 0 });
    expect(v.record(['agent:a'], 'bad frame')).toBe(30_000);
    expect(v.bannedFor('agent:a')).toBe(30_000);
    advance(30_000);
    expect(v.bannedFor('agent:a')).toBe(0);
    expect(burst(v, 'agent:a')).toBe(60_000);
    advance(60_000);
    expect(burst(v, 'agent:a')).toBe(300_000);
    advance(300_000);
    expect(burst(v, 'agent:a')).toBe(300_000); // the longest wait stays the longest
    expect(v.view('agent:a').disconnects_last_hour).toBe(4);
  });

  it('violations spread out over more than the window never add up to a disconnect', () => {
    const { v, advance } = tracker();
    for (let i = 0; i < 100; i++) {
      expect(v.record(['address:10.0.0.1'], 'bad frame')).toBe(0);
      advance(VIOLATION_DEFAULTS.windowMs / 10); // 10 per window, the threshold is 20
    }
  });

  it('the level decays: a clean stretch after the wait takes it down one step each 10 minutes', () => {
    const { v, advance } = tracker();
    burst(v, 'agent:a');
    advance(30_000);
    burst(v, 'agent:a');
    expect(v.levelOf('agent:a')).toBe(2);
    advance(60_000); // the second wait ends
    advance(VIOLATION_DEFAULTS.cleanMs); // one clean stretch
    expect(v.levelOf('agent:a')).toBe(1);
    expect(burst(v, 'agent:a')).toBe(60_000); // the second step's wait, not the third's
    advance(60_000 + 2 * VIOLATION_DEFAULTS.cleanMs);
    expect(v.levelOf('agent:a')).toBe(0);
    expect(burst(v, 'agent:a')).toBe(30_000);
  });

  it('counts each key on its own (the agent and its address), and lists repeat offenders of the last hour', () => {
    const { v, advance } = tracker();
    for (let round = 0; round < 3; round++) {
      burst(v, 'agent:a');
      advance(400_000);
    }
    expect(v.repeatOffenders(3).map((o) => [o.key, o.count])).toEqual([['agent:a', 3]]);
    expect(v.view('agent:b').recent).toBe(0);
    advance(3_600_000);
    expect(v.repeatOffenders(3)).toEqual([]);
  });
});
