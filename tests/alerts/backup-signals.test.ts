/**
 * Backups as signals (hub/features/backup-signals.ts): a real backup moves the backups metric,
 * a failed one raises backup_failed, and the next good one clears it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startInprocHub, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

const activeRules = async (hub: InprocHub) => {
  const res = await hub.hub.app.inject({ method: 'GET', url: '/v1/alerts?state=active', headers: hub.auth() });
  return (res.json() as { alerts: Array<{ rule: string }> }).alerts.map((a) => a.rule);
};

describe('backups feed the alerts and the metrics', () => {
  it('a good backup counts in switchyard_backups_total; a failed one fires backup_failed; the next good one clears it', async () => {
    h = await startInprocHub();
    const ok = await h.hub.app.inject({ method: 'POST', url: '/v1/backups', headers: h.auth() });
    expect(ok.statusCode).toBe(201);
    const prom = await h.hub.app.inject({ method: 'GET', url: '/v1/metrics', headers: h.auth() });
    expect(prom.body).toMatch(/^switchyard_backups_total\{outcome="ok"\} 1$/m);
    expect(prom.body).toMatch(/^switchyard_backup_last_success_timestamp_seconds [1-9]/m);

    // A failure as the backup service announces it (a full disk, say).
    h.hub.bus.emit('backup.done', { at: Date.now() + 1, ok: false, took_ms: 5, error: { code: 'BACKUP_FAILED', message: 'no space left on device' } });
    await h.hub.services.alerts.check();
    expect(await activeRules(h)).toContain('backup_failed');

    const again = await h.hub.app.inject({ method: 'POST', url: '/v1/backups', headers: h.auth() });
    expect(again.statusCode).toBe(201);
    await h.hub.services.alerts.check();
    expect(await activeRules(h)).not.toContain('backup_failed');
  });

  it('no schedule (backupEveryMs 0): backup_overdue never fires', async () => {
    h = await startInprocHub({ config: { backupEveryMs: 0, alertBackupGraceMs: 0 } });
    await h.hub.services.alerts.check();
    expect(await activeRules(h)).not.toContain('backup_overdue');
  });
});
