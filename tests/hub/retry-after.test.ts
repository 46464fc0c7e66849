/**
 * An executor's `retry_after` (a usage limit's reset) crosses the wire in task.fail and reaches
 * the queue's backoff: a real hub on a loopback socket, a raw sidecar client.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Task } from '../../shared/task.js';
import { RawClient, startInprocHub, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub | null = null;
let c: RawClient | null = null;
afterEach(async () => {
  await c?.close();
  await h?.close();
  c = h = null;
});

async function runningTask(): Promise<{ hub: InprocHub; client: RawClient; task: Task }> {
  h = await startInprocHub({ listen: true });
  const token = await h.addAgent('w1');
  c = await RawClient.connect(h.wsUrl, 'w1', token);
  const res = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'job', executor: 'shell', command: 'true' } });
  const task = res.json() as Task;
  await c.nextOf('task.assign');
  c.send({ type: 'task.accept', id: 'a', task_id: task.id, generation: 1 });
  await c.next((m) => m.type === 'ack' && m.id === 'a');
  return { hub: h, client: c, task };
}

describe('task.fail with retry_after', () => {
  it('holds the retry until the reset the executor named', async () => {
    const { hub, client, task } = await runningTask();
    const reset = Date.now() + 2 * 3600_000;
    client.send({ type: 'task.fail', id: 'f', task_id: task.id, generation: 1, error: { code: 'EXEC_ERROR_RESULT', message: 'limit', retryable: true, retry_after: reset } });
    expect(await client.next((m) => m.id === 'f')).toEqual({ type: 'ack', id: 'f' });
    const stored = (await hub.store.get(task.id))!;
    expect(stored).toMatchObject({ status: 'failed', next_run_at: reset, last_error: { code: 'EXEC_ERROR_RESULT', retry_after: reset } });
  });

  it('refuses a retry_after that is not a time in ms (VALIDATION_FAILED), and changes nothing', async () => {
    const { hub, client, task } = await runningTask();
    client.send({ type: 'task.fail', id: 'f', task_id: task.id, generation: 1, error: { code: 'E', message: 'x', retryable: true, retry_after: 1.5 } });
    expect(await client.next((m) => m.id === 'f')).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
    expect((await hub.store.get(task.id))!.status).toBe('running');
  });
});
