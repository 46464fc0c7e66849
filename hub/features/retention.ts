/**
 * Runs retention rounds on a timer (docs/operations.md, "Retention and compaction"): every
 * `everyMs`, one round archives and removes the finished tasks older than their status's limit,
 * in small batches between which dispatch goes on, then compacts what it removed. A round still
 * running when the next one is due is not doubled (the store hands back the running one); a
 * round that fails is logged and the next one tries again. Off when `everyMs` is 0 or the store
 * cannot retain.
 */
import type { Logger } from 'pino';
import type { RetentionTracker } from '../service/retention.js';
import type { ArchiveSink, RetentionOptions, TaskStore } from '../store/task-store.js';
import { feature } from './feature.js';

export interface RetentionFeatureOptions {
  store: TaskStore;
  archive: ArchiveSink;
  options: RetentionOptions;
  everyMs: number;
  tracker: RetentionTracker;
  log: Logger;
}

export const retentionFeature = feature<RetentionFeatureOptions>('retention', async (app, { store, archive, options, everyMs, tracker, log }) => {
  if (everyMs <= 0 || !store.supports.retention || !store.retain) return;
  const retain = store.retain.bind(store);
  let stopped = false;
  let round: Promise<void> | null = null;
  const run = () => {
    if (stopped || round || !store.healthy()) return;
    round = retain(options, archive)
      .then((report) => tracker.record(report))
      .catch((err: unknown) => {
        if (!stopped) log.error({ err }, 'a retention round failed; the next one tries again');
      })
      .finally(() => {
        round = null;
      });
  };
  const timer = setInterval(run, everyMs);
  timer.unref();
  // Stop taking new rounds, and let a running one finish its batch before the store closes.
  app.addHook('preClose', async () => {
    stopped = true;
    clearInterval(timer);
    await round;
  });
});
