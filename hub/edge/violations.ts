/**
 * Violations and escalating disconnects (docs/security.md): every refused frame or body (schema
 * violation, unknown type, invalid JSON, oversized, wrong scope) counts against its agent and its
 * address in a sliding window. Past `max` in the window the socket is closed (4003) and the
 * subject is kept out for a while — 30 s the first time, then 1 min, then 5 min — before it may
 * connect again. The level decays: each `cleanMs` without a violation takes it down one step, so
 * a sidecar that misbehaved once is back to the shortest wait after a clean stretch (the seeds'
 * system never forgot; this one does). In memory: a restart forgives everyone.
 */
export interface ViolationSettings {
  windowMs: number;
  max: number;
  /** Waits after the 1st, 2nd, 3rd (and later) disconnect. */
  bansMs: readonly number[];
  cleanMs: number;
}

export const VIOLATION_DEFAULTS: ViolationSettings = { windowMs: 60_000, max: 20, bansMs: [30_000, 60_000, 300_000], cleanMs: 600_000 };

interface Subject {
  /** Times of the violations still in the window, oldest first. */
  times: number[];
  /** Disconnects counted toward the next wait (decays). */
  level: number;
  /** When the level last changed or a violation came: decay counts from here. */
  since: number;
  bannedUntil: number;
  /** Times of the disconnects in the last hour (for the agent view and the alert). */
  disconnects: number[];
  /** The last reason, for the agent view. */
  last: string | null;
}

export interface ViolationView {
  /** Violations within the window now. */
  recent: number;
  /** Disconnects for violations in the last hour. */
  disconnects_last_hour: number;
  /** Kept out until then (ms since epoch); null when it may connect. */
  banned_until: number | null;
  last_reason: string | null;
}

const HOUR_MS = 3_600_000;

export class Violations {
  private readonly subjects = new Map<string, Subject>();
  /** Told of each disconnect for violations (the metrics). */
  onDisconnect: () => void = () => undefined;

  constructor(
    readonly settings: ViolationSettings = VIOLATION_DEFAULTS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts one violation against each key. Returns the wait (ms) when that crossed the threshold
   * for any of them — the caller closes the connection — else 0.
   */
  record(keys: readonly string[], reason: string): number {
    const now = this.now();
    let wait = 0;
    for (const key of keys) {
      const s = this.subject(key, now);
      s.times.push(now);
      this.trim(s, now);
      s.since = now;
      s.last = reason;
      if (s.times.length < this.settings.max) continue;
      // Over the threshold: out for the wait of its level, which then goes up one.
      const bans = this.settings.bansMs;
      const ban = bans[Math.min(s.level, bans.length - 1)]!;
      s.level++;
      s.times = [];
      s.bannedUntil = now + ban;
      s.disconnects.push(now);
      wait = Math.max(wait, ban);
    }
    if (wait > 0) this.onDisconnect();
    return wait;
  }

  /** How long `key` must still stay out (0: it may connect). */
  bannedFor(key: string): number {
    const s = this.subjects.get(key);
    if (!s) return 0;
    return Math.max(0, s.bannedUntil - this.now());
  }

  view(key: string): ViolationView {
    const now = this.now();
    const s = this.subjects.get(key);
    if (!s) return { recent: 0, disconnects_last_hour: 0, banned_until: null, last_reason: null };
    this.decay(s, now);
    this.trim(s, now);
    return { recent: s.times.length, disconnects_last_hour: s.disconnects.length, banned_until: s.bannedUntil > now ? s.bannedUntil : null, last_reason: s.last };
  }

  /** The level that sets the next wait (0: the first wait), after decay. */
  levelOf(key: string): number {
    const s = this.subjects.get(key);
    if (!s) return 0;
    this.decay(s, this.now());
    return s.level;
  }

  /** Agents disconnected for violations at least `min` times in the last hour. */
  repeatOffenders(min: number): Array<{ key: string; count: number; last: number }> {
    const now = this.now();
    const out: Array<{ key: string; count: number; last: number }> = [];
    for (const [key, s] of this.subjects) {
      this.trim(s, now);
      if (s.disconnects.length >= min) out.push({ key, count: s.disconnects.length, last: s.disconnects[s.disconnects.length - 1]! });
    }
    return out;
  }

  private subject(key: string, now: number): Subject {
    let s = this.subjects.get(key);
    if (!s) {
      s = { times: [], level: 0, since: now, bannedUntil: 0, disconnects: [], last: null };
      this.subjects.set(key, s);
      if (this.subjects.size > 100_000) this.forgetClean(now);
    } else {
      this.decay(s, now);
    }
    return s;
  }

  /** One level down per clean stretch since the last violation (or the last step down). */
  private decay(s: Subject, now: number): void {
    if (s.level === 0) return;
    const steps = Math.floor((now - Math.max(s.since, s.bannedUntil)) / this.settings.cleanMs);
    if (steps <= 0) return;
    s.level = Math.max(0, s.level - steps);
    s.since += steps * this.settings.cleanMs;
  }

  private trim(s: Subject, now: number): void {
    while (s.times.length > 0 && now - s.times[0]! >= this.settings.windowMs) s.times.shift();
    while (s.disconnects.length > 0 && now - s.disconnects[0]! >= HOUR_MS) s.disconnects.shift();
  }

  private forgetClean(now: number): void {
    for (const [key, s] of this.subjects) {
      this.decay(s, now);
      this.trim(s, now);
      if (s.level === 0 && s.times.length === 0 && s.disconnects.length === 0 && s.bannedUntil <= now) this.subjects.delete(key);
    }
  }
}
