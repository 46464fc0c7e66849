/**
 * Gives back every lease an agent holds, at once: used when an operator removes the agent, so its
 * tasks go to other agents now instead of when the leases run out. A lease that changed meanwhile
 * (completed, renewed by a newer generation, expired) is left as it is.
 */
import { toWireError } from '../../shared/errors.js';
import type { TaskStore } from '../store/task-store.js';

const GONE = new Set(['STALE_GENERATION', 'NOT_LEASE_HOLDER', 'TASK_NOT_FOUND', 'ILLEGAL_TRANSITION']);

export async function releaseLeasesOf(store: TaskStore, agentId: string, reason: string, log: { warn(obj: object, msg: string): void }): Promise<number> {
  let released = 0;
  for (const task of await store.leasedBy(agentId)) {
    try {
      await store.release(task.id, task.generation, agentId, reason);
      released++;
    } catch (err) {
      if (!GONE.has(toWireError(err).code)) log.warn({ err, task_id: task.id, agent_id: agentId }, 'releasing a lease of a removed agent failed');
    }
  }
  return released;
}
