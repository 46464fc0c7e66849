/**
 * Request rate limits (docs/security.md), on rate-limiter-flexible's in-memory limiters: each
 * request is counted against its caller (the admin, an API token, an agent) and its client
 * address, in its tier's budget per minute; failed authentications and new WebSocket connections
 * per address have budgets of their own. Over a budget, the answer is RATE_LIMITED with the wait;
 * a client that keeps going waits longer each time (the wait doubles with each refusal in a row, up
 * to `penaltyMaxMs`) until it has been quiet for `quietMs`. An operator's override multiplies one
 * subject's budgets or exempts it; overrides are kept in the agents database (limits-store.ts).
 *
 * Counters are per hub process (a restart starts them again); overrides persist.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { LimitOverride, Tier } from '../../shared/limits.js';

export interface LimitSettings {
  enabled: boolean;
  perMinute: Record<Tier | 'auth_failures' | 'connects', number>;
  wsPerSecond: number;
  /** The window the per-minute budgets are counted in; shorter windows scale them down. @defaultValue 60000 */
  windowMs?: number;
  penaltyMaxMs: number;
  quietMs: number;
}

/** What a refused request is told. */
export interface Refusal {
  retryAfterMs: number;
  budget: string;
}

type Budget = Tier | 'auth_failures' | 'connects';

export class RateLimits {
  private readonly limiters = new Map<string, RateLimiterMemory>();
  private readonly overrides = new Map<string, LimitOverride>();
  /** key -> refusals in a row and the last one's time (the progressive wait). */
  private readonly strikes = new Map<string, { count: number; at: number }>();

  /** Told of each refusal (the metrics). */
  onRefused: (budget: string) => void = () => undefined;

  constructor(
    readonly settings: LimitSettings,
    private readonly now: () => number = Date.now,
  ) {}

  setOverrides(list: readonly LimitOverride[]): void {
    this.overrides.clear();
    for (const o of list) this.overrides.set(o.subject, o);
  }

  setOverride(o: LimitOverride): void {
    this.overrides.set(o.subject, o);
  }

  clearOverride(subject: string): void {
    this.overrides.delete(subject);
  }

  listOverrides(): LimitOverride[] {
    return [...this.overrides.values()].sort((a, b) => a.subject.localeCompare(b.subject));
  }

  /** The factor for a subject: 0 when it is exempt (not limited), else its multiplier. */
  factorOf(subject: string): number {
    const o = this.overrides.get(subject);
    if (!o) return 1;
    return o.exempt ? 0 : o.factor;
  }

  /**
   * Counts one request of `budget` against each subject (the caller, its address); null when all
   * have room, else the longest wait among those that have none.
   */
  async take(budget: Budget, subjects: readonly string[]): Promise<Refusal | null> {
    if (!this.settings.enabled) return null;
    let refusal: Refusal | null = null;
    for (const subject of subjects) {
      const factor = this.factorOf(subject);
      if (factor === 0) continue;
      const limiter = this.limiter(budget, factor);
      const key = `${budget}|${subject}`;
      try {
        await limiter.consume(key);
      } catch (res) {
        if (!(res instanceof RateLimiterRes)) throw res;
        const wait = await this.penalise(limiter, key, res.msBeforeNext);
        if (!refusal || wait > refusal.retryAfterMs) refusal = { retryAfterMs: wait, budget };
      }
    }
    if (refusal) this.onRefused(budget);
    return refusal;
  }

  /** Whether `subject` has room left in `budget` now, without counting anything. */
  async wait(budget: Budget, subject: string): Promise<Refusal | null> {
    if (!this.settings.enabled) return null;
    const factor = this.factorOf(subject);
    if (factor === 0) return null;
    const res = await this.limiter(budget, factor).get(`${budget}|${subject}`);
    if (!res || res.remainingPoints > 0) return null;
    return { retryAfterMs: Math.max(1, res.msBeforeNext), budget };
  }

  /** The per-second message budget of one agent's socket (overrides apply: `agent:<id>`). */
  wsBudget(agentId: string | null): number {
    const factor = agentId === null ? 1 : this.factorOf(`agent:${agentId}`);
    return !this.settings.enabled || factor === 0 ? Infinity : Math.max(1, Math.round(this.settings.wsPerSecond * factor));
  }

  /** The wait after one more refusal in a row: the window's rest, then doubling, up to the max. */
  private async penalise(limiter: RateLimiterMemory, key: string, msBeforeNext: number): Promise<number> {
    const now = this.now();
    const prev = this.strikes.get(key);
    const count = prev && now - prev.at < this.settings.quietMs ? prev.count + 1 : 1;
    this.strikes.set(key, { count, at: now });
    if (this.strikes.size > 100_000) this.forgetQuiet(now);
    if (count === 1) return Math.max(1, msBeforeNext);
    const wait = Math.min(this.settings.penaltyMaxMs, Math.max(msBeforeNext, 1000 * 2 ** (count - 1)));
    await limiter.block(key, Math.ceil(wait / 1000));
    return wait;
  }

  private forgetQuiet(now: number): void {
    for (const [key, s] of this.strikes) if (now - s.at >= this.settings.quietMs) this.strikes.delete(key);
  }

  private limiter(budget: Budget, factor: number): RateLimiterMemory {
    const id = `${budget}:${factor}`;
    let l = this.limiters.get(id);
    if (!l) {
      const windowMs = this.settings.windowMs ?? 60_000;
      const points = Math.max(1, Math.round(((this.settings.perMinute[budget] * windowMs) / 60_000) * factor));
      l = new RateLimiterMemory({ keyPrefix: id, points, duration: Math.max(1, Math.round(windowMs / 1000)) });
      this.limiters.set(id, l);
    }
    return l;
  }
}

/**
 * One agent socket's messages per second: a fixed one-second window, counted synchronously as
 * each frame arrives (frames are handled in order, so a promise per frame — the limiter library's
 * API — would delay or reorder them).
 */
export class FrameWindow {
  private start = 0;
  private count = 0;

  constructor(
    private budget: number,
    private readonly now: () => number = Date.now,
  ) {}

  setBudget(budget: number): void {
    this.budget = budget;
  }

  get budgetPerSecond(): number {
    return this.budget;
  }

  /** Counts a frame; 0 when it may be acted on, else the ms until the window has room. */
  take(): number {
    const now = this.now();
    if (now - this.start >= 1000) {
      this.start = now;
      this.count = 0;
    }
    this.count++;
    return this.count <= this.budget ? 0 : 1000 - (now - this.start);
  }
}
