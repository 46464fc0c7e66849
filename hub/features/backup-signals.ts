/**
 * Backups as operators' signals: the alert rules' backup state (backup_failed, backup_overdue)
 * and the backups metric, from the backup service's state at start (the newest backup on disk)
 * and from each `backup.done` after.
 */
import type { BackupState } from '../alerts/rules.js';
import type { HubBus } from '../service/bus.js';
import type { Services } from '../service/index.js';
import { feature, onStop } from './feature.js';

export const backupSignalsFeature = feature<{ services: Services; bus: HubBus; everyMs: number }>('backup-signals', async (app, { services, bus, everyMs }) => {
  const last = services.backups.health().last;
  const state: BackupState = {
    last_ok_at: last?.ok ? last.at : null,
    last_failed_at: last && !last.ok ? last.at : null,
    last_error: last?.error?.message ?? null,
    every_ms: everyMs,
  };
  services.alerts.backupState({ ...state });
  const off = bus.on('backup.done', (outcome) => {
    if (outcome.ok) state.last_ok_at = outcome.at;
    else {
      state.last_failed_at = outcome.at;
      state.last_error = outcome.error?.message ?? null;
    }
    services.alerts.backupState({ ...state });
    services.metrics.prom.backup(outcome.ok, outcome.at);
  });
  onStop(app, off);
});
