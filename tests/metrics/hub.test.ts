/**
 * Metrics on a real hub: a task run by a sidecar over a real socket moves the counters and the
 * enqueue->assign histogram; queue depth, agents and sockets are read at scrape time; the
 * store's batches are observed; two hubs in one process keep apart registries; per-agent series
 * stop past the configured fleet size; the history route serves closed steps.
 */
import { afterEach, expect, it } from 'vitest';
import type { MetricsHistory } from '../../shared/alerts.js';
import { ADMIN_TOKEN, RawClient, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';

const hubs: InprocHub[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const h of hubs.splice(0)) await h.close();
});

async function hub(config = {}): Promise<InprocHub> {
  const h = await startInprocHub({ listen: true, config });
  hubs.push(h);
  return h;
}

async function scrape(h: InprocHub): Promise<string> {
  const res = await h.hub.app.inject({ method: 'GET', url: '/v1/metrics', headers: h.auth() });
  expect(res.statusCode).toBe(200);
  return res.body;
}

/** The value of one sample line, e.g. `switchyard_queue_depth{lane="normal"}`. */
function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no ${series} in\n${text.slice(0, 3000)}`);
  return Number(line.slice(series.length + 1));
}

it('counts a task from creation to completion, with its wait and run time, without a store scan', async () => {
  const h = await hub();
  const other = await hub(); // another hub in the same process: its own registry
  const feed = await RawClient.open(`${h.wsUrl}/v1/feed?token=${ADMIN_TOKEN}`);
  clients.push(feed);
  await feed.nextOf('hello');
  const res = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'build', executor: 'shell', command: 'make', lane: 'high' } });
  const task = res.json() as { id: string };
  let text = await scrape(h);
  expect(value(text, 'switchyard_tasks_created_total{lane="high"}')).toBe(1);
  expect(value(text, 'switchyard_queue_depth{lane="high"}')).toBe(1);
  expect(value(text, 'switchyard_sockets{kind="feed"}')).toBe(1);
  expect(value(text, 'switchyard_store_batch_ops_count')).toBeGreaterThan(0);
  expect(value(text, 'switchyard_store_fsync_seconds_count')).toBeGreaterThan(0);

  const w = await RawClient.connect(h.wsUrl, 'w1', await h.addAgent('w1'));
  clients.push(w);
  const assign = await w.nextOf('task.assign');
  const generation = assign.generation as number;
  w.send({ type: 'task.accept', id: 'a', task_id: task.id, generation });
  await w.next((m) => m.type === 'ack' && m.id === 'a');
  w.send({ type: 'task.complete', id: 'c', task_id: task.id, generation, result: { ok: true } });
  await waitFor(async () => (await h.store.get(task.id))?.status === 'completed', 'the task to complete');

  // The counters follow the change events, which come once the batch is applied: wait for them, then read.
  text = (await waitFor(async () => {
    const t = await scrape(h);
    return value(t, 'switchyard_tasks_completed_total{lane="high"}') === 1 ? t : undefined;
  }, 'the completion to be counted'))!;
  expect(value(text, 'switchyard_tasks_completed_total{lane="high"}')).toBe(1);
  expect(value(text, 'switchyard_enqueue_to_assign_seconds_count{lane="high"}')).toBe(1);
  expect(value(text, 'switchyard_task_run_seconds_count{outcome="completed"}')).toBe(1);
  expect(value(text, 'switchyard_queue_depth{lane="high"}')).toBe(0);
  expect(value(text, 'switchyard_agents{state="idle"}')).toBe(1);
  expect(value(text, 'switchyard_sockets{kind="agent"}')).toBe(1);
  expect(value(text, 'switchyard_agent_leases{agent="w1"}')).toBe(0);
  // Process metrics and event-loop lag, from prom-client's defaults.
  expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  expect(text).toMatch(/^process_resident_memory_bytes \d/m);
  // No per-task label anywhere.
  expect(text).not.toContain(task.id);

  const elsewhere = await scrape(other);
  expect(value(elsewhere, 'switchyard_tasks_created_total{lane="high"}')).toBe(0);

  // The history: a closed step carries the step's counts and the gauges.
  await h.hub.services.metrics.closeStep(Date.now());
  const hist = await h.hub.app.inject({ method: 'GET', url: '/v1/metrics/history', headers: h.auth() });
  const body = hist.json() as MetricsHistory;
  expect(body.step_ms).toBe(10_000);
  expect(body.points).toHaveLength(1);
  expect(body.points[0]).toMatchObject({ created: 1, completed: 1, failed: 0, dead_lettered: 0, queued: 0, running: 0, agents_online: 1 });
  expect(body.points[0]!.assign_p50_ms).not.toBeNull();
});

it('drops per-agent series past metricsPerAgentMax, and refuses a missing token', async () => {
  const h = await hub({ metricsPerAgentMax: 1 });
  for (const id of ['w1', 'w2']) clients.push(await RawClient.connect(h.wsUrl, id, await h.addAgent(id)));
  const text = await scrape(h);
  expect(text).not.toMatch(/^switchyard_agent_leases\{/m);
  expect(value(text, 'switchyard_sockets{kind="agent"}')).toBe(2);
  const refused = await h.hub.app.inject({ method: 'GET', url: '/v1/metrics' });
  expect(refused.statusCode).toBe(401);
  expect((refused.json() as { code: string }).code).toBe('UNAUTHORIZED');
});
