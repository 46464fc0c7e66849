/**
 * Each rule through the engine, with snapshots built by hand and the clock in them: it fires,
 * it does not fire again while open, it clears, and it respects its cooldown; then the engine's
 * own behaviour (critical repeats until acknowledged, severity overrides, rules turned off).
 */
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../shared/alerts.js';
import { AlertEngine } from '../../hub/alerts/engine.js';
import { RULES, type AlertRuleDef, type AlertSettings, type AlertSnapshot } from '../../hub/alerts/rules.js';
import { alertSettingsOf } from '../../hub/alerts/settings.js';
import { HUB_DEFAULTS } from '../../hub/config.js';
import type { AlertStore } from '../../hub/store/alert-store.js';
import type { BudgetView } from '../../shared/usage.js';

const T0 = 1_800_000_000_000;
const COOLDOWN = 60_000;

function settings(over: Partial<AlertSettings> = {}): AlertSettings {
  return { ...alertSettingsOf(HUB_DEFAULTS), cooldownMs: COOLDOWN, repeatMs: 30_000, ...over };
}

const DAY = new Date(T0).toISOString().slice(0, 10);
/** Repo web's budget ($2 and 1000 tokens a day) with `cost` and `tokens` spent today. */
function budget(cost: number, tokens: number, day = DAY): BudgetView {
  const percent = Math.round(Math.max(cost / 2, tokens / 1000) * 1000) / 10;
  return { repo: 'web', cost_usd_per_day: 2, tokens_per_day: 1000, on_limit: 'wait', set_at: T0 - 1000, set_by: 'admin', day, spent_cost_usd: cost, spent_tokens: tokens, percent, blocked: cost >= 2 || tokens >= 1000 };
}

/** A healthy hub: one agent online, a flat queue, nothing failing, a budget half spent. */
function healthy(now: number): AlertSnapshot {
  return {
    now,
    startedAt: T0 - 3_600_000,
    online: 1,
    noneOnlineSince: null,
    idle: [],
    disconnected: [],
    offline: [],
    queueDepths: [5, 5, 5],
    unplaceable: [],
    window: { created: 10, completed: 10, failed: 0, dead_lettered: 0 },
    store: { healthy: true },
    backup: { last_ok_at: now - 1000, last_failed_at: null, every_ms: 3_600_000 },
    executorsGone: [],
    budgets: [budget(1, 100)],
  };
}

const s = settings();
/** Per rule: how to make a healthy snapshot bad for it, and what the alert must say. */
const CASES: Record<string, { bad: (x: AlertSnapshot) => AlertSnapshot; says: RegExp; subject?: Alert['subject'] }> = {
  no_agent_online: { bad: (x) => ({ ...x, online: 0, noneOnlineSince: x.now - s.noAgentMs }), says: /no agent has been connected/ },
  queue_growing: { bad: (x) => ({ ...x, queueDepths: Array.from({ length: s.queueGrowingChecks + 1 }, (_, i) => 10 + i) }), says: /grew at each of the last 12 checks \(10 -> 22/ },
  task_unplaceable: {
    bad: (x) => ({ ...x, unplaceable: [{ task_id: 'T1', queued_at: x.now - s.unplaceableMs, reason: 'no connected agent can run it now (w1: no model llama3)' }] }),
    says: /task T1 has waited 5 min: no connected agent can run it now \(w1: no model llama3\)/,
    subject: { task_id: 'T1' },
  },
  failure_rate: { bad: (x) => ({ ...x, window: { created: 20, completed: 4, failed: 6, dead_lettered: 0 } }), says: /60% of the 10 attempts/ },
  dead_letter_growth: { bad: (x) => ({ ...x, window: { ...x.window, dead_lettered: 2 } }), says: /2 task\(s\) dead-lettered/ },
  agent_offline: { bad: (x) => ({ ...x, offline: [{ id: 'gpu-1', since: x.now - s.agentOfflineMs }] }), says: /agent gpu-1 has been offline for 10 min/, subject: { agent_id: 'gpu-1' } },
  agent_idle: { bad: (x) => ({ ...x, idle: [{ id: 'gpu-2', since: x.now - s.agentIdleMs }] }), says: /agent gpu-2 has been idle for 30 min while 5 task\(s\) are queued/, subject: { agent_id: 'gpu-2' } },
  agent_disconnected: { bad: (x) => ({ ...x, disconnected: [{ id: 'gpu-3', count: 3 }] }), says: /agent gpu-3 was disconnected 3 times in the last hour/, subject: { agent_id: 'gpu-3' } },
  store_degraded: { bad: (x) => ({ ...x, store: { healthy: false } }), says: /takes no writes \(degraded mode/ },
  backup_failed: { bad: (x) => ({ ...x, backup: { last_ok_at: x.now - 5000, last_failed_at: x.now - 10, last_error: 'disk full', every_ms: 3_600_000 } }), says: /last backup failed: disk full/ },
  backup_overdue: { bad: (x) => ({ ...x, backup: { last_ok_at: x.now - 3_600_000 - s.backupGraceMs - 1, last_failed_at: null, every_ms: 3_600_000 } }), says: /last good backup is 120 min old/ },
  executor_gone: { bad: (x) => ({ ...x, executorsGone: [{ executor: 'claude', message: 'executor claude is unavailable on every connected agent: w1: not logged in' }] }), says: /claude is unavailable.*not logged in/, subject: { executor: 'claude' } },
  budget_warning: { bad: (x) => ({ ...x, budgets: [budget(1.6, 100)] }), says: /repo web has spent \$1\.60 of \$2\/day, 100 of 1000 tokens\/day \(80%\)/, subject: { repo: 'web' } },
  budget_exhausted: { bad: (x) => ({ ...x, budgets: [budget(0.5, 1000)] }), says: /repo web has spent \$0\.50 of \$2\/day, 1000 of 1000 tokens\/day \(100%\).*start on no paid executor \(they wait\)/, subject: { repo: 'web' } },
};

function memoryStore(): AlertStore & { rows: Map<string, Alert> } {
  const rows = new Map<string, Alert>();
  return {
    rows,
    load: async () => [...rows.values()],
    write: async (put, drop) => {
      for (const a of put) rows.set(a.id, a);
      for (const id of drop) rows.delete(id);
    },
  };
}

function engine(rules: readonly AlertRuleDef[] = RULES, over: Partial<AlertSettings> = {}) {
  const told: Alert[] = [];
  const store = memoryStore();
  return { e: new AlertEngine(store, rules, settings(over), (a) => told.push(a)), told, store };
}

it('covers every rule', () => {
  expect(Object.keys(CASES).sort()).toEqual(RULES.map((r) => r.rule).sort());
});

describe.each(RULES.map((r) => [r.rule, r] as const))('%s', (name, def) => {
  const c = CASES[name]!;

  it('stays quiet on a healthy hub', async () => {
    const { e } = engine([def]);
    expect(await e.check(healthy(T0))).toEqual([]);
  });

  it('fires, does not fire twice, clears, respects its cooldown, then fires again', async () => {
    const { e, told } = engine([def]);
    const [fired, ...more] = await e.check(c.bad(healthy(T0)));
    expect(more).toEqual([]);
    expect(fired).toMatchObject({ rule: name, state: 'active', severity: def.severity, count: 1, fired_at: T0, acked_at: null, cleared_at: null });
    expect(fired!.message).toMatch(c.says);
    expect(fired!.subject).toEqual(c.subject ?? {});
    expect(fired!.url).toMatch(/^\/#\//);
    expect(told).toEqual([fired]);
    expect(e.list('active', 10)).toEqual([fired]);

    expect(await e.check(c.bad(healthy(T0 + 1000)))).toEqual([]);

    const [cleared] = await e.check(healthy(T0 + 2000));
    expect(cleared).toMatchObject({ id: fired!.id, state: 'cleared', cleared_at: T0 + 2000 });
    expect(e.list('active', 10)).toEqual([]);
    expect(e.list('cleared', 10)).toEqual([cleared]);

    // Within the cooldown after it cleared: quiet, even though the condition is back.
    expect(await e.check(c.bad(healthy(T0 + 2000 + COOLDOWN - 1)))).toEqual([]);
    const [again] = await e.check(c.bad(healthy(T0 + 2000 + COOLDOWN)));
    expect(again).toMatchObject({ rule: name, state: 'active', count: 1 });
    expect(again!.id).not.toBe(fired!.id);
  });
});

describe('the engine', () => {
  const storeRule = RULES.find((r) => r.rule === 'store_degraded')!;
  const bad = CASES.store_degraded!.bad;

  it('repeats a critical alert every repeat interval until it is acknowledged', async () => {
    const { e, told } = engine([storeRule]);
    const [fired] = await e.check(bad(healthy(T0)));
    expect(await e.check(bad(healthy(T0 + 29_999)))).toEqual([]);
    const [repeat] = await e.check(bad(healthy(T0 + 30_000)));
    expect(repeat).toMatchObject({ id: fired!.id, state: 'active', count: 2, fired_at: T0, last_fired_at: T0 + 30_000 });
    const acked = await e.ack(fired!.id, 'admin', T0 + 31_000);
    expect(acked).toMatchObject({ state: 'acknowledged', acked_at: T0 + 31_000, acked_by: 'admin', count: 2 });
    expect(await e.ack(fired!.id, 'someone', T0 + 32_000)).toEqual(acked); // idempotent
    expect(await e.check(bad(healthy(T0 + 120_000)))).toEqual([]);
    expect(e.list('acknowledged', 10)).toEqual([acked]);
    const [cleared] = await e.check(healthy(T0 + 130_000));
    expect(cleared).toMatchObject({ state: 'cleared', acked_by: 'admin' });
    expect(told.map((a) => a.state)).toEqual(['active', 'active', 'acknowledged', 'cleared']);
  });

  it('never repeats a warning', async () => {
    const { e } = engine(RULES.filter((r) => r.rule === 'dead_letter_growth'));
    await e.check(CASES.dead_letter_growth!.bad(healthy(T0)));
    expect(await e.check(CASES.dead_letter_growth!.bad(healthy(T0 + 10 * 3_600_000)))).toEqual([]);
  });

  it('takes severity overrides, and rules turned off neither fire nor stay open', async () => {
    const { e } = engine(RULES, { severity: { dead_letter_growth: 'critical' } });
    const fired = await e.check(CASES.dead_letter_growth!.bad(healthy(T0)));
    expect(fired.map((a) => [a.rule, a.severity])).toEqual([['dead_letter_growth', 'critical']]);

    const off = engine(RULES, { off: new Set(['store_degraded']) });
    expect(await off.e.check(bad(healthy(T0)))).toEqual([]);
  });

  it('opens one alert per subject and clears each on its own', async () => {
    const idleRule = RULES.find((r) => r.rule === 'agent_idle')!;
    // Idle with nothing queued is rest, not a problem; idle but not yet for the bound, neither.
    expect(idleRule.evaluate({ ...healthy(T0), queueDepths: [0], idle: [{ id: 'a', since: T0 - 86_400_000 }] }, s)).toEqual([]);
    expect(idleRule.evaluate({ ...healthy(T0), idle: [{ id: 'a', since: T0 - s.agentIdleMs + 1 }] }, s)).toEqual([]);
    const rule = RULES.find((r) => r.rule === 'agent_offline')!;
    const { e } = engine([rule]);
    const two = (now: number, ids: string[]) => ({ ...healthy(now), offline: ids.map((id) => ({ id, since: now - 3_600_000 })) });
    expect((await e.check(two(T0, ['a', 'b']))).map((a) => a.subject.agent_id)).toEqual(['a', 'b']);
    const [cleared] = await e.check(two(T0 + 1, ['b']));
    expect(cleared).toMatchObject({ state: 'cleared', subject: { agent_id: 'a' } });
    expect(e.list('active', 10).map((a) => a.subject.agent_id)).toEqual(['b']);
  });

  it('budget rules: warning from 80 %, exhausted at the limit (both open then), one alert per repo and UTC day', async () => {
    const [warning, exhausted] = ['budget_warning', 'budget_exhausted'].map((r) => RULES.find((d) => d.rule === r)!);
    expect(warning!.evaluate({ ...healthy(T0), budgets: [budget(1.59, 799)] }, s)).toEqual([]);
    expect(exhausted!.evaluate({ ...healthy(T0), budgets: [budget(1.99, 999)] }, s)).toEqual([]);
    const { e } = engine([warning!, exhausted!], { cooldownMs: 0 });
    expect((await e.check({ ...healthy(T0), budgets: [budget(2.5, 0)] })).map((a) => [a.rule, a.severity, a.subject.repo])).toEqual([
      ['budget_warning', 'warning', 'web'],
      ['budget_exhausted', 'critical', 'web'],
    ]);
    // The next UTC day: the spend starts again, both clear; crossing again that day is a new alert.
    const next = T0 + 86_400_000;
    const nextDay = new Date(next).toISOString().slice(0, 10);
    expect((await e.check({ ...healthy(next), budgets: [budget(0, 0, nextDay)] })).map((a) => [a.rule, a.state])).toEqual([
      ['budget_warning', 'cleared'],
      ['budget_exhausted', 'cleared'],
    ]);
    const [again] = await e.check({ ...healthy(next + 1), budgets: [budget(1.7, 0, nextDay)] });
    expect(again!.id).toMatch(new RegExp(`^budget_warning:web:${nextDay}:`));
  });

  it('refuses to acknowledge an unknown alert with ALERT_NOT_FOUND', async () => {
    const { e } = engine();
    await expect(e.ack('nope:fleet:1', 'admin', T0)).rejects.toMatchObject({ code: 'ALERT_NOT_FOUND' });
  });

  it('keeps a bounded history, dropping the oldest from the store too', async () => {
    const { e, store } = engine([storeRule], { historyMax: 10, cooldownMs: 0 });
    for (let i = 0; i < 15; i++) {
      await e.check(bad(healthy(T0 + i * 10)));
      await e.check(healthy(T0 + i * 10 + 5));
    }
    expect(e.list('cleared', 100)).toHaveLength(10);
    expect(store.rows.size).toBe(10);
    expect(e.list('all', 100)[0]!.fired_at).toBe(T0 + 140);
  });
});
