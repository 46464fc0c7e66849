/** The pure retention rules: which statuses go, after how long, and what keeps a task. */
import { describe, expect, it } from 'vitest';
import { cutoffOf, DAY_MS, DEFAULT_RETENTION_LIMITS, finishedAt, whyKept } from '../../hub/queue/retention-rules.js';
import type { Task, TaskStatus } from '../../shared/task.js';

const NOW = 1_800_000_000_000;
const task = (status: TaskStatus, ageMs: number, id = 'T'): Task => ({ id, status, updated_at: NOW - ageMs }) as Task;

describe('retention rules', () => {
  it('only completed, cancelled and dead-lettered tasks have a finish time', () => {
    for (const s of ['completed', 'cancelled', 'dead_letter'] as const) expect(finishedAt(task(s, 5))).toBe(NOW - 5);
    for (const s of ['pending', 'queued', 'assigned', 'running', 'review', 'failed'] as const) expect(finishedAt(task(s, 5))).toBeNull();
  });

  it('each status has its own limit; 0 keeps it forever', () => {
    const limits = DEFAULT_RETENTION_LIMITS;
    expect(whyKept(task('completed', 31 * DAY_MS), NOW, limits, [])).toBeNull();
    expect(whyKept(task('completed', 29 * DAY_MS), NOW, limits, [])).toBe('finished too recently');
    expect(whyKept(task('dead_letter', 31 * DAY_MS), NOW, limits, [])).toBe('finished too recently');
    expect(whyKept(task('dead_letter', 91 * DAY_MS), NOW, limits, [])).toBeNull();
    expect(whyKept(task('running', 365 * DAY_MS), NOW, limits, [])).toMatch(/not removed/);
    expect(whyKept(task('cancelled', 365 * DAY_MS), NOW, { ...limits, cancelledMs: 0 }, [])).toMatch(/forever/);
    expect(cutoffOf('completed', NOW, limits)).toBe(NOW - 30 * DAY_MS);
  });

  it('a live dependant keeps its parent; settled or removed ones do not', () => {
    const old = task('completed', 31 * DAY_MS);
    const limits = DEFAULT_RETENTION_LIMITS;
    expect(whyKept(old, NOW, limits, [task('pending', 0, 'D')])).toBe('dependant D is pending');
    expect(whyKept(old, NOW, limits, [task('dead_letter', 0, 'D')])).toBe('dependant D is dead_letter');
    expect(whyKept(old, NOW, limits, [task('completed', 0, 'D'), task('cancelled', 0, 'E'), undefined])).toBeNull();
  });
});
