/**
 * Recent results of each model on each agent (the last 25 finished runs), for the score: how
 * often it passed and how long it took. Fed from the store's changes (a run ended: completed,
 * or failed / dead-lettered / handed back with an error). In memory: a restart starts afresh.
 */
export const RECENT_RUNS = 25;

interface Run {
  passed: boolean;
  ms: number;
}

export interface RecentRecord {
  passed: number;
  runs: number;
  /** Mean run time of the recent runs (ms); null with none. */
  meanMs: number | null;
}

export class RecentOutcomes {
  private readonly byAgent = new Map<string, Map<string, Run[]>>();

  record(agentId: string, model: string, passed: boolean, ms: number): void {
    let models = this.byAgent.get(agentId);
    if (!models) this.byAgent.set(agentId, (models = new Map()));
    let runs = models.get(model);
    if (!runs) models.set(model, (runs = []));
    runs.push({ passed, ms: Math.max(0, ms) });
    if (runs.length > RECENT_RUNS) runs.shift();
  }

  of(agentId: string, model: string): RecentRecord {
    const runs = this.byAgent.get(agentId)?.get(model) ?? [];
    if (runs.length === 0) return { passed: 0, runs: 0, meanMs: null };
    let passed = 0;
    let total = 0;
    for (const r of runs) {
      if (r.passed) passed++;
      total += r.ms;
    }
    return { passed, runs: runs.length, meanMs: total / runs.length };
  }
}
