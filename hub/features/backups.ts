/**
 * The backup schedule: every `backupEveryMs` (after the last backup, kept across restarts) the
 * backup service takes one, while the hub goes on serving. Off when the interval is 0. When the
 * hub stops, a running backup is abandoned between chunks (its partial folder removed) before
 * the stores close.
 */
import type { BackupService } from '../service/backups.js';
import { feature, onStop } from './feature.js';

/** setTimeout's limit (about 24.8 days): a later time is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const backupsFeature = feature<{ backups: BackupService; now: () => number }>('backups', async (app, { backups, now }) => {
  await backups.load();
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const arm = () => {
    const at = backups.nextAt();
    if (stopped || at === null) return;
    timer = setTimeout(tick, Math.min(MAX_TIMER_MS, Math.max(0, at - now())));
    timer.unref();
  };
  const tick = () => {
    timer = null;
    const at = backups.nextAt();
    if (at !== null && at > now()) return arm();
    // The service logs and announces the outcome (backup.done); a failure waits for the next interval.
    backups.backup().then(arm, arm);
  };
  arm();
  app.addHook('preClose', async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await backups.stop();
  });
});
