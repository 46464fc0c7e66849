/**
 * Alerts survive a restart: the engine on the real agents LevelDB, closed and reopened in the
 * same folder. An open alert is not fired again, an ack is remembered (no repeats), and an alert
 * cooling down stays quiet; the agents' and join tokens' keys are untouched by the `al!` keys.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Alert } from '../../shared/alerts.js';
import { AlertEngine } from '../../hub/alerts/engine.js';
import { RULES, type AlertSnapshot } from '../../hub/alerts/rules.js';
import { alertSettingsOf } from '../../hub/alerts/settings.js';
import { HUB_DEFAULTS } from '../../hub/config.js';
import { openAgentStore, type AgentStore } from '../../hub/store/agent-store.js';
import { alertStoreOf } from '../../hub/store/alert-store.js';

const T0 = 1_800_000_000_000;
const settings = { ...alertSettingsOf(HUB_DEFAULTS), repeatMs: 30_000, cooldownMs: 60_000 };
const dirs: string[] = [];
const open: AgentStore[] = [];

afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => undefined);
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function snapshot(now: number, over: Partial<AlertSnapshot> = {}): AlertSnapshot {
  return {
    now,
    startedAt: T0,
    online: 1,
    noneOnlineSince: null,
    idle: [],
    disconnected: [],
    offline: [],
    queueDepths: [],
    unplaceable: [],
    window: { created: 0, completed: 0, failed: 0, dead_lettered: 0 },
    store: { healthy: true },
    backup: null,
    executorsGone: [],
    budgets: [],
    ...over,
  };
}

async function start(dir: string) {
  const agents = await openAgentStore(join(dir, 'agents'));
  open.push(agents);
  const told: Alert[] = [];
  const e = new AlertEngine(alertStoreOf(agents), RULES, settings, (a) => told.push(a));
  await e.load();
  return { agents, e, told };
}

it('remembers open, acknowledged and cooling-down alerts across a restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sy-alerts-'));
  dirs.push(dir);
  let h = await start(dir);
  await h.agents.create({ id: 'w1', token_hash: 'x'.repeat(64), created_at: T0, created_by: 'admin', description: '' });
  const down = snapshot(T0, { store: { healthy: false }, offline: [{ id: 'w1', since: T0 - 3_600_000 }], online: 0, noneOnlineSince: T0 - 3_600_000 });
  const fired = await h.e.check(down);
  expect(fired.map((a) => a.rule).sort()).toEqual(['agent_offline', 'no_agent_online', 'store_degraded']);
  const degraded = fired.find((a) => a.rule === 'store_degraded')!;
  await h.e.ack(degraded.id, 'admin', T0 + 1);
  // agent_offline clears (w1 came back); no_agent_online stays active.
  await h.e.check({ ...down, now: T0 + 2, offline: [] });
  await h.agents.close();

  h = await start(dir);
  expect((await h.agents.list()).map((a) => a.id)).toEqual(['w1']);
  expect(h.e.list('acknowledged', 10).map((a) => a.id)).toEqual([degraded.id]);
  expect(h.e.list('active', 10).map((a) => a.rule)).toEqual(['no_agent_online']);
  expect(h.e.list('cleared', 10).map((a) => a.rule)).toEqual(['agent_offline']);
  // Past the repeat interval: the unacknowledged critical repeats, the acknowledged one does not;
  // w1 offline again within the cooldown stays quiet.
  const after = await h.e.check({ ...down, now: T0 + 40_000 });
  expect(after.map((a) => [a.rule, a.count])).toEqual([['no_agent_online', 2]]);
  expect(h.told).toEqual(after);
});
