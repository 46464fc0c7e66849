/** The alert settings from the hub config: environment parsed by the schema, bad values refused with a clear message. */
import { expect, it } from 'vitest';
import { alertSettingsOf } from '../../hub/alerts/settings.js';
import { loadHubConfig } from '../../hub/config.js';

it('reads thresholds, severity overrides and rules turned off from the environment', () => {
  const c = loadHubConfig({}, { SWITCHYARD_ALERT_CHECK_MS: '1000', SWITCHYARD_ALERT_SEVERITY: 'queue_growing=critical, agent_offline=info', SWITCHYARD_ALERT_OFF: 'backup_overdue' });
  const s = alertSettingsOf(c);
  expect(s.checkMs).toBe(1000);
  expect(s.severity).toEqual({ queue_growing: 'critical', agent_offline: 'info' });
  expect([...s.off]).toEqual(['backup_overdue']);
  expect(s.cooldownMs).toBe(300_000);
  expect(s.repeatMs).toBe(900_000);
});

it('refuses a severity that is not one', () => {
  expect(() => loadHubConfig({}, { SWITCHYARD_ALERT_SEVERITY: 'queue_growing=loud' })).toThrow(/alertSeverity\[0\] must be rule=info\|warning\|critical/);
});
