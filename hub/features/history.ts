/**
 * Project history and context follow the store (docs/context.md): a task that finishes
 * (completed, dead_letter, cancelled) adds its entry to its repo's history, once durable; a task
 * that becomes queued gets its context assembled and written onto its record. That write is made
 * where the store applies the queueing (onApplied), ahead of the scheduler's placement on the
 * serial path, so the task an agent is offered already carries its context. Registered before the
 * scheduler for that reason.
 */
import type { Logger } from 'pino';
import type { ContextService } from '../context/service.js';
import type { HistoryService } from '../history/service.js';
import { finishes } from '../history/entry.js';
import { edit } from '../queue/changes.js';
import type { HubBus } from '../service/bus.js';
import type { TaskChange, TaskStore } from '../store/task-store.js';
import { feature } from './feature.js';

export interface HistoryFeatureOptions {
  history: HistoryService;
  context: ContextService;
  store: TaskStore;
  bus: HubBus;
  log: Logger;
}

/** Whether the task runs its command on the shell executor (sidecar/task-runner.ts chooseExecutor), where no prompt is built. */
function runsOnShell(task: TaskChange['task']): boolean {
  return task.executor === 'shell' || (task.executor === null && task.command !== null);
}

export const historyFeature = feature<HistoryFeatureOptions>('history', async (app, { history, context, store, bus, log }) => {
  const pending = new Set<Promise<unknown>>();
  const onQueued = (change: TaskChange) => {
    const { task, before } = change;
    if (task.status !== 'queued' || before?.status === 'queued') return;
    // A shell command reads no prompt: its context would be written on every change of its record
    // for nothing (measured: half of a shell workload's hub CPU per cycle, docs/benchmarks.md).
    if (runsOnShell(task)) return;
    let assembled;
    try {
      assembled = context.assemble(task);
    } catch (err) {
      log.warn({ err, task_id: task.id }, 'assembling the context failed; the task goes without it');
      return;
    }
    // Nothing to say and nothing said before: no write (a hub without history costs no extra record per task).
    if (assembled.text === '' && !task.assembled_context) return;
    store
      .applyRule(task.id, (ws, t) => edit(ws, t, { assembled_context: assembled }))
      .catch((err: unknown) => log.warn({ err, task_id: task.id }, 'writing the assembled context failed'));
  };
  const offApplied = store.supports.onApplied && store.onApplied ? store.onApplied(onQueued) : null;
  const offChanged = bus.on('task.changed', (change) => {
    if (!offApplied) onQueued(change);
    if (finishes(change.task, change.before)) {
      const write = history.record(change.task).catch((err: unknown) => log.error({ err, task_id: change.task.id }, 'adding a history entry failed'));
      pending.add(write);
      void write.finally(() => pending.delete(write));
    }
  });
  // A stopping hub lets the entries under way reach the disk before its stores close.
  app.addHook('preClose', async () => {
    offApplied?.();
    offChanged();
    await Promise.allSettled([...pending]);
  });
});
