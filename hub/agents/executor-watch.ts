/**
 * Watches which executors the connected fleet can run, and raises an alert when one that some
 * agent could run goes away on every agent (the last Claude logged out, every Ollama down), and
 * a resolution when one comes back. Counts are kept per executor and updated from each agent's
 * change (O(executors) per event, never a walk of the fleet): registry changes fire on every
 * lease change. The alert goes to the hub log (warn) and the live feed; the operators' alert
 * rules (push, dashboard) take it from there once they exist.
 */
import type { AgentRegistry, LiveAgent } from './registry.js';

export interface ExecutorAlert {
  code: 'EXECUTOR_GONE' | 'EXECUTOR_BACK';
  executor: string;
  message: string;
  at: number;
  /** Each agent's reason, for EXECUTOR_GONE. */
  reasons: Array<{ agent_id: string; reason: string }>;
}

export function watchExecutors(
  registry: AgentRegistry,
  raise: (alert: ExecutorAlert) => void,
  now: () => number = Date.now,
): () => void {
  /** agent id -> the executors it can run now (while connected). */
  const offered = new Map<string, ReadonlySet<string>>();
  /** executor -> connected agents that can run it. */
  const counts = new Map<string, number>();
  const gone = new Set<string>();

  const onChanged = (agent: LiveAgent) => {
    const before: ReadonlySet<string> = offered.get(agent.id) ?? new Set<string>();
    const after = new Set<string>(agent.conn ? agent.executors.filter((e) => e.available).map((e) => e.name) : []);
    if (after.size === 0) offered.delete(agent.id);
    else offered.set(agent.id, after);
    for (const name of after) {
      if (before.has(name)) continue;
      counts.set(name, (counts.get(name) ?? 0) + 1);
      if (gone.delete(name)) raise({ code: 'EXECUTOR_BACK', executor: name, message: `executor ${name} is available again (on ${agent.id})`, at: now(), reasons: [] });
    }
    for (const name of before) {
      if (after.has(name)) continue;
      const left = (counts.get(name) ?? 1) - 1;
      counts.set(name, left);
      if (left > 0) continue;
      gone.add(name);
      const reasons = registry
        .all()
        .filter((a) => a.conn)
        .flatMap((a) => a.executors.filter((e) => e.name === name).map((e) => ({ agent_id: a.id, reason: e.reason ?? 'not available' })));
      const detail = reasons.length ? `: ${reasons.map((r) => `${r.agent_id}: ${r.reason}`).join('; ')}` : ' (no connected agent offers it)';
      raise({ code: 'EXECUTOR_GONE', executor: name, message: `executor ${name} is unavailable on every connected agent${detail}`, at: now(), reasons });
    }
  };
  registry.on('changed', onChanged);
  return () => registry.off('changed', onChanged);
}
