/** The pure rules of push: which alert changes notify, who wants them, what they say, Retry-After. */
import { describe, expect, it } from 'vitest';
import { alertPayload, shouldNotify, wants, type PushableAlert } from '../../hub/push/notification.js';
import { retryAfterMs } from '../../hub/push/sender.js';

const a = (over: Partial<PushableAlert> = {}): PushableAlert => ({ id: 'x', rule: 'failure_rate', severity: 'warning', state: 'active', title: 'T', message: 'M', url: '/#/alerts', count: 1, ...over });

describe('push rules', () => {
  it('notify on the first fire of an active alert, and on every repeat of a critical one only', () => {
    expect(shouldNotify(a())).toBe(true);
    expect(shouldNotify(a({ count: 2 }))).toBe(false);
    expect(shouldNotify(a({ count: 4, severity: 'critical' }))).toBe(true);
    expect(shouldNotify(a({ state: 'acknowledged' }))).toBe(false);
    expect(shouldNotify(a({ state: 'cleared', severity: 'critical' }))).toBe(false);
  });

  it('match kinds by rule or severity; [] is everything', () => {
    expect(wants([], a())).toBe(true);
    expect(wants(['failure_rate'], a())).toBe(true);
    expect(wants(['warning'], a())).toBe(true);
    expect(wants(['critical', 'agent_offline'], a())).toBe(false);
  });

  it('make a payload with a tag per alert, and only dashboard paths as its page', () => {
    expect(alertPayload(a({ id: 'q', count: 3, severity: 'critical' }))).toEqual({ title: 'CRITICAL: T (×3)', body: 'M', url: '/#/alerts', tag: 'alert-q', alert_id: 'q' });
    expect(alertPayload(a({ url: 'https://elsewhere.example/' })).url).toBe('/#/alerts');
    expect(alertPayload(a({ url: '//elsewhere.example/' })).url).toBe('/#/alerts');
  });

  it('read Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('7', now)).toBe(7000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs(undefined, now)).toBeNull();
    expect(retryAfterMs('soon', now)).toBeNull();
  });
});
