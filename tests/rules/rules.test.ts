/**
 * The queue's rules without a database: each is a decision over records, read through the
 * transaction port (hub/queue/port.ts), here a few records in a Map. What a rule decided is the
 * list in `Changes`; nothing is applied, so the port's records never change under the rule.
 */
import { describe, expect, it } from 'vitest';
import type { Task, TaskStatus } from '../../shared/task.js';
import { Changes, edit, MAX_EVENT_IDS, transition } from '../../hub/queue/changes.js';
import { DEFAULT_BACKOFF, retryDelayMs } from '../../hub/queue/backoff.js';
import { releaseDependants } from '../../hub/queue/dependencies.js';
import * as leases from '../../hub/queue/leases.js';
import { DEFAULT_TASK_DEFAULTS, newTaskRecord } from '../../hub/queue/normalize.js';
import * as operator from '../../hub/queue/operator.js';
import type { QueueTx } from '../../hub/queue/port.js';
import { MAX_RETRY_AFTER_MS, retryAt } from '../../hub/queue/retry-policy.js';

const NOW = 1_700_000_000_000;

/** A port over records in memory: dependants follow from depends_on, ids count up. */
class RecordsTx implements QueueTx {
  readonly records = new Map<string, Task>();
  private n = 0;
  add(id: string, status: TaskStatus, over: Partial<Task> = {}): Task {
    const task: Task = { ...newTaskRecord({ title: id }, id, [], 'test', NOW - 1000, DEFAULT_TASK_DEFAULTS), status, ...over };
    this.records.set(id, task);
    for (const dep of task.depends_on) {
      const parent = this.records.get(dep)!;
      this.records.set(dep, { ...parent, dependant_count: parent.dependant_count + 1 });
    }
    return task;
  }
  async read(id: string) {
    return this.records.get(id);
  }
  async dependantsOf(id: string) {
    return [...this.records.values()].filter((t) => t.depends_on.includes(id)).map((t) => t.id).sort();
  }
  async idOfKey(key: string) {
    return [...this.records.values()].find((t) => t.idempotency_key === key)?.id;
  }
  newTaskId() {
    return `T${++this.n}`;
  }
  newEventId() {
    return `E${String(++this.n).padStart(4, '0')}`;
  }
}

function changesOver(tx: QueueTx, random = 0.5): Changes {
  return new Changes(tx, { random: () => random, backoff: DEFAULT_BACKOFF, taskDefaults: DEFAULT_TASK_DEFAULTS }).begin(NOW);
}

const summary = (ws: Changes) => ws.list.map((c) => `${c.task.id}:${c.before?.status ?? '∅'}->${c.task.status}${c.event ? '' : ' (no event)'}`);

describe('changes', () => {
  it('a transition records its event and lists it on the record; an edit records no event', () => {
    const tx = new RecordsTx();
    const t = tx.add('a', 'queued', { event_ids: ['E0000'] });
    const ws = changesOver(tx);
    const assigned = transition(ws, t, 'assigned', { generation: 1 }, 'agent:x', 'assigned to x');
    expect(ws.list[0]!.event).toEqual({
      id: 'E0001', at: NOW, task_id: 'a', type: 'transition', from: 'queued', to: 'assigned', generation: 1, actor: 'agent:x', reason: 'assigned to x',
    });
    expect(assigned).toMatchObject({ status: 'assigned', updated_at: NOW, queued_at: null, event_ids: ['E0000', 'E0001'] });
    edit(ws, assigned, { delegate: null });
    expect(ws.list[1]!.event).toBeNull();
    expect(tx.records.get('a')!.status).toBe('queued'); // decided, not applied
  });

  it('a record keeps its newest MAX_EVENT_IDS event ids', () => {
    const tx = new RecordsTx();
    const t = tx.add('a', 'failed', { event_ids: Array.from({ length: MAX_EVENT_IDS }, (_, i) => `old${i}`) });
    const after = transition(changesOver(tx), t, 'queued', {}, 'sweeper', 'backoff elapsed');
    expect(after.event_ids).toHaveLength(MAX_EVENT_IDS);
    expect(after.event_ids[0]).toBe('old1');
    expect(after.event_ids[MAX_EVENT_IDS - 1]).toBe('E0001');
  });

  it('refuses a transition the table does not list', () => {
    const tx = new RecordsTx();
    expect(() => transition(changesOver(tx), tx.add('a', 'cancelled'), 'queued', {}, 'op', '')).toThrow(/cannot go from cancelled to queued/);
  });
});

describe('rules over several records', () => {
  it('a dead-lettered task takes a diamond of dependants with it, each once', async () => {
    // a <- b, a <- c, b <- d, c <- d
    const tx = new RecordsTx();
    tx.add('a', 'running', { generation: 1, attempts: 1, lease: { agent_id: 'x', generation: 1, expires_at: NOW + 1000, started_at: NOW - 1 } });
    tx.add('b', 'pending', { depends_on: ['a'] });
    tx.add('c', 'pending', { depends_on: ['a'] });
    tx.add('d', 'pending', { depends_on: ['b', 'c'] });
    const ws = changesOver(tx);
    await leases.fail(ws, (await tx.read('a'))!, 1, 'x', { code: 'BAD', message: 'no', retryable: false });
    expect(summary(ws)).toEqual(['a:running->dead_letter', 'b:pending->dead_letter', 'c:pending->dead_letter', 'd:pending->dead_letter']);
    expect(ws.own('d')!.last_error).toMatchObject({ code: 'DEPENDENCY_FAILED', details: { dependency: 'c' } });
  });

  it('a completion queues the dependants it was the last dependency of, reading its own change', async () => {
    const tx = new RecordsTx();
    tx.add('a', 'running', { generation: 1, lease: { agent_id: 'x', generation: 1, expires_at: NOW + 1000, started_at: NOW - 1 } });
    tx.add('other', 'queued');
    tx.add('ready', 'pending', { depends_on: ['a'] });
    tx.add('waits', 'pending', { depends_on: ['a', 'other'] });
    tx.add('later', 'pending', { depends_on: ['a'], run_at: NOW + 5000 });
    const ws = changesOver(tx);
    await leases.complete(ws, (await tx.read('a'))!, 1, 'x', 'ok');
    expect(summary(ws)).toEqual(['a:running->completed', 'later:pending->pending (no event)', 'ready:pending->queued']);
    expect(ws.own('later')!.next_run_at).toBe(NOW + 5000);
  });

  it('retrying a dependency revives what it blocked, unless another failed dependency still blocks it', async () => {
    const tx = new RecordsTx();
    const blocked = (dependency: string) => ({ last_error: { code: 'DEPENDENCY_FAILED', message: '', retryable: true, details: { dependency } } });
    tx.add('a', 'dead_letter');
    tx.add('b', 'dead_letter');
    tx.add('onlyA', 'dead_letter', { depends_on: ['a'], ...blocked('a') });
    tx.add('both', 'dead_letter', { depends_on: ['a', 'b'], ...blocked('a') });
    const ws = changesOver(tx);
    await operator.retry(ws, (await tx.read('a'))!, 'op');
    expect(summary(ws)).toEqual(['a:dead_letter->queued', 'both:dead_letter->dead_letter (no event)', 'onlyA:dead_letter->pending']);
    expect(ws.own('both')!.last_error).toMatchObject({ details: { dependency: 'b' } });
  });

  it('releaseDependants asks the port nothing for a task without dependants', async () => {
    let asked = 0;
    const tx = new (class extends RecordsTx {
      override dependantsOf(id: string) {
        asked++;
        return super.dependantsOf(id);
      }
    })();
    const t = tx.add('a', 'completed');
    await releaseDependants(changesOver(tx), t, 'x');
    expect(asked).toBe(0);
  });
});

describe('the retry policy', () => {
  const B = { baseMs: 1000, maxMs: 60_000 };

  it('retries after the backoff, or at retry_after when that is later, at most 24 h ahead', () => {
    const backoff = NOW + retryDelayMs(2, 0.5, B); // 1500 ms
    expect(retryAt(NOW, 2, 0.5, B)).toBe(backoff);
    expect(retryAt(NOW, 2, 0.5, B, NOW + 600_000)).toBe(NOW + 600_000);
    expect(retryAt(NOW, 2, 0.5, B, NOW + 100)).toBe(backoff); // sooner than the backoff: the backoff
    expect(retryAt(NOW, 2, 0.5, B, NOW - 5000)).toBe(backoff); // already past
    expect(retryAt(NOW, 2, 0.5, B, NOW + 3 * 86_400_000)).toBe(NOW + MAX_RETRY_AFTER_MS);
    expect(MAX_RETRY_AFTER_MS).toBe(86_400_000);
  });

  it("a failure with retry_after waits for it, and the task's last_error keeps it", async () => {
    const tx = new RecordsTx();
    const t = tx.add('a', 'running', { generation: 1, attempts: 1, lease: { agent_id: 'x', generation: 1, expires_at: NOW + 1000, started_at: NOW - 1 } });
    const ws = changesOver(tx, 0.5);
    const reset = NOW + 2 * 3600_000;
    const after = await leases.fail(ws, t, 1, 'x', { code: 'EXEC_USAGE_LIMIT', message: 'limit reached', retryable: true, retry_after: reset });
    expect(after).toMatchObject({ status: 'failed', next_run_at: reset, last_error: { code: 'EXEC_USAGE_LIMIT', retry_after: reset } });
    expect(ws.list[0]!.event!.reason).toBe('EXEC_USAGE_LIMIT: retry in 7200000 ms');
  });
});
