/**
 * `switchyard status` on an agent host: this host's sidecar as pm2 sees it (state, pid, restarts,
 * uptime, memory), as the hub sees it (connection, executors, current tasks; with the agent's own
 * token), and the hub's summary (GET /v1/health). Healthy means: pm2 runs it and the hub has it
 * connected.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SwitchyardError } from '../../shared/errors.js';
import { formatAgent } from '../commands/agent.js';
import { HostHubClient, type HealthView, type SelfView } from './hub-api.js';
import { layoutOf, pm2AppName } from './layout.js';
import { Pm2, type Pm2Process } from './pm2.js';
import { onboardedAgent } from './teardown.js';

export interface HostStatus {
  agent: string;
  hub: string;
  data: string;
  pm2: Pm2Process | null;
  self: SelfView | null;
  health: HealthView | null;
  /** What is wrong, when something is. */
  problems: string[];
  healthy: boolean;
}

export async function hostStatus(home: string): Promise<HostStatus> {
  const agent = onboardedAgent(home);
  if (!agent) {
    throw new SwitchyardError('ONBOARD_NOT_ONBOARDED', `no onboarded sidecar in ${home}: onboard this host with switchyard onboard --hub URL --join TOKEN, or pass the --data folder it was onboarded with`);
  }
  const L = layoutOf(home);
  const problems: string[] = [];
  const pm2 = await Pm2.connect();
  let proc: Pm2Process | null;
  try {
    proc = await pm2.describe(pm2AppName(agent.name));
  } finally {
    pm2.close();
  }
  if (!proc && pm2.startedDaemon) problems.push('pm2 was not running (a reboot without `pm2 startup`?): `npx pm2 resurrect` starts its saved apps; then run the `pm2 startup` command onboarding printed');
  else if (!proc) problems.push(`pm2 has no app ${pm2AppName(agent.name)}: run switchyard onboard --redetect to start it again`);
  else if (proc.status !== 'online') problems.push(`pm2 says ${proc.status}: see ${L.errLog}`);

  const hub = new HostHubClient(agent.hub);
  let health: HealthView | null = null;
  let self: SelfView | null = null;
  try {
    health = await hub.health();
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (health) {
    if (!existsSync(L.token)) problems.push(`no agent token in ${L.token}`);
    else {
      try {
        self = await hub.self(readFileSync(L.token, 'utf8').trim());
        if (self.state === 'offline') problems.push(`the hub has ${agent.name} offline: see ${L.errLog}`);
      } catch (err) {
        problems.push(
          err instanceof SwitchyardError && err.code === 'UNAUTHORIZED'
            ? `the hub refuses ${agent.name}'s token (removed at the hub?): run switchyard teardown, then onboard again with a new invitation`
            : (err as Error).message,
        );
      }
    }
  }
  return { agent: agent.name, hub: agent.hub, data: home, pm2: proc, self, health, problems, healthy: problems.length === 0 };
}

const ago = (ms: number) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
};

export function formatStatus(s: HostStatus): string {
  const lines = [`${s.agent}  (hub ${s.hub}, data ${s.data})`];
  const p = s.pm2;
  lines.push(
    p
      ? `  pm2: ${p.name} ${p.status}, pid ${p.pid || '-'}, ${p.uptimeSince ? `up ${ago(Date.now() - p.uptimeSince)}, ` : ''}restarts ${p.restarts}, ${Math.round(p.memory / 1048576)} MB`
      : '  pm2: no app',
  );
  if (s.self) {
    lines.push('  at the hub:');
    // /v1/self answers the agent view the admin routes answer, minus what only an admin sees.
    lines.push(...formatAgent(s.self as unknown as Parameters<typeof formatAgent>[0]).trimEnd().split('\n').map((l) => `  ${l}`));
  }
  const h = s.health;
  if (h) {
    const states = Object.entries(h.agents.by_state).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
    const depth = Object.entries(h.queue.depth).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
    lines.push(`hub ${s.hub}: ${h.status}, ${h.agents.connected} agent(s) connected${states ? ` (${states})` : ''}; queued: ${depth || 'none'}; leases ${h.queue.leases}`);
  }
  for (const problem of s.problems) lines.push(`! ${problem}`);
  lines.push(s.healthy ? 'healthy' : 'NOT HEALTHY');
  return `${lines.join('\n')}\n`;
}
