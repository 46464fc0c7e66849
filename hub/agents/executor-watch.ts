/**
 * Watches which executors the connected fleet can run, and raises an alert when one that some
 * agent could run goes away on every agent (the last Claude logged out, every Ollama down), and
 * a resolution when one comes back. Counts are kept per executor and updated from each agent's
 * change (O(executors) per event, never a walk of the fleet): agent changes fire on every lease
 * change. The hub's executor-watch feature (hub/features/executor-watch.ts) feeds it the bus's
 * agent changes and sends its alerts to the log and the bus (and so the live feed).
 */
import type { ExecutorAlert } from '../../shared/feed.js';
import type { AgentRegistry, LiveAgent } from './registry.js';

export type { ExecutorAlert };

export class ExecutorWatch {
  /** agent id -> the executors it can run now (while connected). */
  private readonly offered = new Map<string, ReadonlySet<string>>();
  /** executor -> connected agents that can run it. */
  private readonly counts = new Map<string, number>();
  private readonly gone = new Set<string>();

  constructor(
    private readonly registry: AgentRegistry,
    private readonly raise: (alert: ExecutorAlert) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** One agent changed (connected, advertised, disconnected...). */
  changed(agent: LiveAgent): void {
    const { offered, counts, gone, now } = this;
    const before: ReadonlySet<string> = offered.get(agent.id) ?? new Set<string>();
    const after = new Set<string>(agent.conn ? agent.executors.filter((e) => e.available).map((e) => e.name) : []);
    if (after.size === 0) offered.delete(agent.id);
    else offered.set(agent.id, after);
    for (const name of after) {
      if (before.has(name)) continue;
      counts.set(name, (counts.get(name) ?? 0) + 1);
      if (gone.delete(name)) this.raise({ code: 'EXECUTOR_BACK', executor: name, message: `executor ${name} is available again (on ${agent.id})`, at: now(), reasons: [] });
    }
    for (const name of before) {
      if (after.has(name)) continue;
      const left = (counts.get(name) ?? 1) - 1;
      counts.set(name, left);
      if (left > 0) continue;
      gone.add(name);
      const reasons = this.registry
        .all()
        .filter((a) => a.conn)
        .flatMap((a) => a.executors.filter((e) => e.name === name).map((e) => ({ agent_id: a.id, reason: e.reason ?? 'not available' })));
      const detail = reasons.length ? `: ${reasons.map((r) => `${r.agent_id}: ${r.reason}`).join('; ')}` : ' (no connected agent offers it)';
      this.raise({ code: 'EXECUTOR_GONE', executor: name, message: `executor ${name} is unavailable on every connected agent${detail}`, at: now(), reasons });
    }
  }
}
