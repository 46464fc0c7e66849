/**
 * Charging usage through the wire as a sidecar does: an agent (a RawClient) takes its next offer,
 * accepts it and completes it with `usage` in its result; resolves once the task is completed.
 */
import type { Task } from '../../shared/task.js';
import { waitFor, type InprocHub, type RawClient } from './hub-inproc.js';

let seq = 0;

/** Takes the next offer, accepts it and completes it with `usage`; returns the task. */
export async function runWithUsage(h: InprocHub, c: RawClient, usage: Record<string, number>, executor: string): Promise<Task> {
  const assign = await c.nextOf('task.assign');
  const task = assign.task as Task;
  const generation = assign.generation as number;
  const accept = `acc-${++seq}`;
  c.send({ type: 'task.accept', id: accept, task_id: task.id, generation });
  await c.next((m) => m.type === 'ack' && m.id === accept, 5000, 'the accept ack');
  c.send({ type: 'task.complete', id: `done-${++seq}`, task_id: task.id, generation, result: { executor, usage: { ...usage, wall_ms: 5 } } });
  await waitFor(async () => (await h.store.get(task.id))?.status === 'completed', 'the task completed');
  return task;
}
