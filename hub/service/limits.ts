/** Rate limits as an admin sees and steers them: the defaults, and per-subject overrides that persist. */
import type { LimitOverride, LimitOverrideBody, LimitsView } from '../../shared/limits.js';
import type { RateLimits } from '../edge/rate-limits.js';
import type { LimitsStore } from '../store/limits-store.js';
import { Access, type Principal } from './access.js';
import type { AuditService } from './audit.js';

export class LimitsService {
  constructor(
    readonly limits: RateLimits,
    private readonly store: LimitsStore,
    private readonly now: () => number,
    private readonly audit?: AuditService,
  ) {}

  /** Loads the persisted overrides (at start). */
  async load(): Promise<void> {
    this.limits.setOverrides(await this.store.list());
  }

  view(caller: Principal): LimitsView {
    Access.authorize(caller, 'limits.read');
    const s = this.limits.settings;
    return {
      enabled: s.enabled,
      per_minute: { ...s.perMinute },
      ws_per_second: s.wsPerSecond,
      penalty_max_ms: s.penaltyMaxMs,
      quiet_ms: s.quietMs,
      overrides: this.limits.listOverrides(),
    };
  }

  async set(caller: Principal, subject: string, body: LimitOverrideBody): Promise<LimitOverride> {
    Access.authorize(caller, 'limits.write');
    const o: LimitOverride = { subject, factor: body.factor ?? 1, exempt: body.exempt ?? false, note: body.note ?? '', set_at: this.now(), set_by: caller.actor };
    await this.store.put(o, this.audit?.ops(caller, 'limits.set', subject, o.exempt ? 'exempt' : `factor ${o.factor}${o.note ? `: ${o.note}` : ''}`));
    this.limits.setOverride(o);
    return o;
  }

  async clear(caller: Principal, subject: string): Promise<boolean> {
    Access.authorize(caller, 'limits.write');
    const removed = await this.store.remove(subject, this.audit?.ops(caller, 'limits.cleared', subject));
    this.limits.clearOverride(subject);
    return removed;
  }
}
