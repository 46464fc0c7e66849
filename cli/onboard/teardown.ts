/**
 * Undoing an onboarding, safe to run again at any point:
 *   1 Drain       pm2 stops the sidecar with SIGINT: running tasks finish (up to the sidecar's
 *                 drain grace) or are handed back to the hub for another agent
 *   2 pm2         the app deleted, pm2's saved list updated (so it does not come back at boot)
 *   3 Deregister  the agent removed at the hub with its own token, which then stops working
 *   4 Files       the token and the onboarding state removed; the config and data too unless --keep-data
 * A step with nothing left to do says so and moves on. A hub that cannot be reached stops the
 * teardown before any file is removed, so running it again later finishes the job.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { SwitchyardError } from '../../shared/errors.js';
import { HostHubClient } from './hub-api.js';
import { layoutOf, pm2AppName } from './layout.js';
import { Pm2 } from './pm2.js';
import { loadState } from './state.js';

export interface TeardownOptions {
  home: string;
  keepData?: boolean;
  out: (text: string) => void;
}

/**
 * The agent and hub of an onboarded folder: from the onboarding state, else from the sidecar's
 * config while its token is there (a folder kept by `teardown --keep-data` has neither).
 */
export function onboardedAgent(home: string): { name: string; hub: string } | null {
  const L = layoutOf(home);
  const state = loadState(L.state);
  if (state?.name) return { name: state.name, hub: state.hub };
  if (existsSync(L.config) && existsSync(L.token)) {
    const cfg = JSON.parse(readFileSync(L.config, 'utf8')) as { agentId?: string; hubUrl?: string };
    if (cfg.agentId && cfg.hubUrl) return { name: cfg.agentId, hub: cfg.hubUrl };
  }
  return null;
}

export async function teardown(o: TeardownOptions): Promise<void> {
  const L = layoutOf(o.home);
  const agent = onboardedAgent(o.home);
  if (!agent) {
    if (existsSync(L.state)) await rm(L.state, { force: true });
    o.out(`nothing to tear down: ${o.home} holds no onboarded agent\n`);
    return;
  }
  const app = pm2AppName(agent.name);
  o.out(`Tearing down ${agent.name} (hub ${agent.hub}, data ${o.home})\n`);

  const pm2 = await Pm2.connect();
  try {
    o.out('[1/4] Drain\n');
    // pm2 not running (a reboot without pm2 startup): its saved list may still start this sidecar
    // at the next boot. Restored, it is stopped and deleted below like a running one.
    const restored = await pm2.restoreSaved();
    if (restored > 0) o.out(`      ✓ pm2 was not running: restored its ${restored} saved app(s)\n`);
    const p = await pm2.describe(app);
    if (!p) o.out(`      → no pm2 app ${app}: nothing running\n`);
    else if (p.status !== 'online' && p.status !== 'launching') o.out(`      → ${app} is already ${p.status}\n`);
    else {
      o.out(`      … stopping ${app} (pid ${p.pid}): running tasks finish or are handed back\n`);
      await pm2.stop(app);
      o.out(`      → ${app} stopped\n`);
    }
    o.out('[2/4] pm2\n');
    if (p) {
      await pm2.delete(app);
      await pm2.save();
      o.out(`      → deleted ${app}; pm2 list saved\n`);
    } else {
      o.out(`      → no app ${app}\n`);
    }
  } finally {
    pm2.close();
  }

  o.out('[3/4] Deregister\n');
  if (!existsSync(L.token)) {
    o.out(`      ! no agent token in ${L.token}: if ${agent.name} is still registered, ask the hub's admin: switchyard agent remove ${agent.name}\n`);
  } else {
    const token = readFileSync(L.token, 'utf8').trim();
    try {
      await new HostHubClient(agent.hub).leave(token);
      o.out(`      → ${agent.name} removed at ${agent.hub}; its token no longer works\n`);
    } catch (err) {
      if (err instanceof SwitchyardError && err.code === 'UNAUTHORIZED') {
        o.out(`      → ${agent.name} was already removed at the hub\n`);
      } else {
        o.out(`      ✗ ${(err as Error).message}\n`);
        throw new SwitchyardError(
          err instanceof SwitchyardError ? err.code : 'ONBOARD_HUB_UNREACHABLE',
          `could not deregister ${agent.name} at ${agent.hub}: ${(err as Error).message}. Nothing was removed from ${o.home}; run switchyard teardown again when the hub answers (or ask its admin: switchyard agent remove ${agent.name})`,
        );
      }
    }
  }

  o.out('[4/4] Files\n');
  await rm(L.token, { force: true });
  await rm(L.state, { force: true });
  if (o.keepData) {
    o.out(`      → removed the token and the onboarding state; kept the config, logs and data in ${o.home} (--keep-data)\n`);
  } else {
    await rm(o.home, { recursive: true, force: true });
    o.out(`      → removed ${o.home}\n`);
  }
  o.out(`${agent.name} is torn down.\n`);
}
