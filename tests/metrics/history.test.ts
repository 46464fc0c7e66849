/** The in-memory history: steps, the hour's bound, percentiles, window sums; and the task facts it is fed. */
import { describe, expect, it } from 'vitest';
import { HISTORY_POINTS, MetricsHistory, percentile, STEP_MS } from '../../hub/metrics/history.js';
import { taskFacts } from '../../hub/metrics/task-facts.js';
import type { Task, TaskEvent } from '../../shared/task.js';

const G = { queued: 3, running: 1, agents_online: 2 };

describe('MetricsHistory', () => {
  it('closes a step with its counts and gauges, then starts the next from zero', () => {
    const h = new MetricsHistory();
    h.count('created');
    h.count('created');
    h.count('completed');
    h.count('dead_lettered');
    for (const ms of [10, 20, 30, 40, 1000]) h.assigned(ms);
    expect(h.close(1000, G)).toEqual({ at: 1000, ...G, created: 2, completed: 1, failed: 0, dead_lettered: 1, assign_p50_ms: 30, assign_p99_ms: 1000 });
    expect(h.close(2000, G)).toMatchObject({ created: 0, completed: 0, assign_p50_ms: null, assign_p99_ms: null });
    expect(h.list().map((p) => p.at)).toEqual([1000, 2000]);
  });

  it('keeps the last hour at 10 s: 360 points, oldest dropped first', () => {
    const h = new MetricsHistory();
    expect(h.stepMs).toBe(STEP_MS);
    for (let i = 0; i < HISTORY_POINTS + 5; i++) h.close(i * STEP_MS, G);
    const points = h.list();
    expect(points).toHaveLength(360);
    expect(points[0]!.at).toBe(5 * STEP_MS);
  });

  it('sums the counts since a time, the open step included', () => {
    const h = new MetricsHistory();
    h.count('failed');
    h.close(10_000, G);
    h.count('failed');
    h.count('completed');
    h.close(20_000, G);
    h.count('failed');
    expect(h.countsSince(10_000)).toEqual({ created: 0, completed: 1, failed: 2, dead_lettered: 0 });
    expect(h.countsSince(0)).toMatchObject({ failed: 3 });
  });

  it('bounds the latency samples of a step, and still estimates from them', () => {
    let seed = 1;
    const h = new MetricsHistory(STEP_MS, HISTORY_POINTS, () => ((seed = (seed * 16807) % 2147483647) / 2147483647));
    for (let i = 1; i <= 100_000; i++) h.assigned(i);
    const p = h.close(0, G);
    expect(p.assign_p50_ms!).toBeGreaterThan(40_000);
    expect(p.assign_p50_ms!).toBeLessThan(60_000);
  });

  it('percentile is nearest-rank', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([5], 0.99)).toBe(5);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
  });
});

describe('taskFacts', () => {
  const task = (over: Partial<Task>) => ({ id: 'T', lane: 'high', status: 'queued', queued_at: null, lease: null, ...over }) as Task;
  const event = (from: TaskEvent['from'], to: TaskEvent['to'], at: number): TaskEvent => ({ id: 'E', at, task_id: 'T', type: from === null ? 'created' : 'transition', from, to, generation: 1, actor: 'x', reason: '' });

  it('reads created, the enqueue->assign wait, run time, completion, failure and dead letter from one change', () => {
    expect(taskFacts({ task: task({}), before: null, event: event(null, 'queued', 5) })).toMatchObject({ created: true, lane: 'high', assignMs: null });
    expect(taskFacts({ task: task({ status: 'assigned' }), before: task({ queued_at: 100 }), event: event('queued', 'assigned', 350) }).assignMs).toBe(250);
    const running = task({ status: 'running', lease: { agent_id: 'w', generation: 1, expires_at: 0, started_at: 1000 } });
    expect(taskFacts({ task: task({ status: 'completed' }), before: running, event: event('running', 'completed', 4000) })).toMatchObject({ completed: true, failed: false, run: { ms: 3000, outcome: 'completed' } });
    expect(taskFacts({ task: task({ status: 'dead_letter' }), before: running, event: event('running', 'dead_letter', 2000) })).toMatchObject({ failed: true, deadLettered: true });
    expect(taskFacts({ task: task({ status: 'failed' }), before: running, event: event('running', 'failed', 2000) })).toMatchObject({ failed: true, deadLettered: false });
    // A dependency's failure dead-letters a pending task: no attempt failed.
    expect(taskFacts({ task: task({ status: 'dead_letter' }), before: task({ status: 'pending' }), event: event('pending', 'dead_letter', 1) })).toMatchObject({ failed: false, deadLettered: true });
  });
});
