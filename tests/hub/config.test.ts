/** Hub config: defaults, env over defaults, flags over env, validation with a clear message, frozen. */
import { describe, expect, test } from 'vitest';
import { HUB_DEFAULTS, loadHubConfig } from '../../hub/config.js';

describe('hub config', () => {
  test('flag > env > default, and the result is frozen', () => {
    const cfg = loadHubConfig({ port: 9000 }, { SWITCHYARD_PORT: '8000', SWITCHYARD_PING_MS: '500', SWITCHYARD_HOST: '0.0.0.0' });
    expect(cfg.port).toBe(9000);
    expect(cfg.pingMs).toBe(500);
    expect(cfg.host).toBe('0.0.0.0');
    expect(cfg.leaseMs).toBe(HUB_DEFAULTS.leaseMs);
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  test('binds to 127.0.0.1 unless told otherwise', () => {
    expect(loadHubConfig({}, {}).host).toBe('127.0.0.1');
  });

  test('bad values are refused with the setting named', () => {
    expect(() => loadHubConfig({}, { SWITCHYARD_PORT: 'eighty' })).toThrow(/config port must be an integer/);
    expect(() => loadHubConfig({}, { SWITCHYARD_LEASE_MS: '5' })).toThrow(/config leaseMs/);
    expect(() => loadHubConfig({}, { SWITCHYARD_ADMIN_TOKEN: 'short' })).toThrow(/at least 16 characters/);
  });
});

describe('hub config schema', () => {
  test('defaults come from the schema, and an error names where the bad value came from', () => {
    expect(HUB_DEFAULTS).toMatchObject({ port: 7070, pingMs: 15_000, logLevel: 'info', adminToken: null });
    expect(() => loadHubConfig({}, { SWITCHYARD_PORT: 'eighty' })).toThrow("config port must be an integer from 0 to 65535, got 'eighty' (from SWITCHYARD_PORT)");
    expect(() => loadHubConfig({ port: '70000' }, {})).toThrow('(from --port)');
    expect(() => loadHubConfig({}, { SWITCHYARD_LOG_LEVEL: 'loud' })).toThrow(/logLevel must be one of fatal, error, warn, info, debug, trace, silent, got 'loud'/);
  });

  test('flags given as strings are converted by type, and a secret is never echoed', () => {
    expect(loadHubConfig({ port: '9001' }, {}).port).toBe(9001);
    let message = '';
    try {
      loadHubConfig({}, { SWITCHYARD_ADMIN_TOKEN: 'short-secret' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('adminToken must be at least 16 characters');
    expect(message).not.toContain('short-secret');
  });
});
