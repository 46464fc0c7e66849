/** A task as the hub sends it to a sidecar (all the fields a held task is checked for, and more). */
import type { Task } from '../../shared/task.js';

export function heldTask(id: string, over: Partial<Task> = {}): Task {
  return {
    id, title: id, description: '', context: {}, success_criteria: [], verification: [], complexity: 'trivial',
    complexity_reason: 'shell command', capabilities: [], repo: null, lane: 'normal', depends_on: [], idempotency_key: null,
    max_attempts: 3, timeouts: { start_ms: 60_000, lease_ms: 1000, overall_ms: 60_000 }, run_at: null, review: false,
    executor: 'shell', command: 'true', model: null, agent: null, delegate: null, event_ids: [], created_by: 'admin',
    metadata: {}, status: 'assigned', generation: 1, attempts: 0, lease: null, created_at: 0, updated_at: 0, queued_at: null,
    next_run_at: null, last_error: null, result: null,
    ...over,
  } as Task;
}
