/** Sidecar config: file < env < flags, required settings named with what to do, numbers validated. */
import { describe, expect, test } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentSocketUrl, loadSidecarConfig } from '../../sidecar/config.js';
import { tempDir } from '../support/processes.js';

describe('sidecar config', () => {
  test('file < env < flags', () => {
    const file = join(tempDir('cfg'), 'sidecar.json');
    writeFileSync(file, JSON.stringify({ hubUrl: 'http://file:1', agentId: 'from-file', maxConcurrency: 3, repos: [{ name: 'api', path: '/srv/api' }] }));
    const cfg = loadSidecarConfig({ configFile: file, agentId: 'from-flag' }, { SWITCHYARD_TOKEN: 't', SWITCHYARD_HUB: 'http://env:2' });
    expect(cfg).toMatchObject({ hubUrl: 'http://env:2', agentId: 'from-flag', token: 't', maxConcurrency: 3, repos: [{ name: 'api', path: '/srv/api' }] });
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  test('missing settings say how to give them', () => {
    expect(() => loadSidecarConfig({}, {})).toThrow(/--hub URL or set SWITCHYARD_HUB/);
    expect(() => loadSidecarConfig({ hubUrl: 'http://h' }, {})).toThrow(/--agent ID/);
    expect(() => loadSidecarConfig({ hubUrl: 'http://h', agentId: 'a' }, {})).toThrow(/switchyard agent add/);
  });

  test('numbers are checked (a NaN reconnect delay would spin)', () => {
    const base = { hubUrl: 'http://h', agentId: 'a', token: 't' };
    expect(() => loadSidecarConfig(base, { SWITCHYARD_RECONNECT_MAX_MS: 'abc' })).toThrow(/reconnectMaxMs must be an integer/);
    expect(() => loadSidecarConfig({ ...base, maxConcurrency: 0 }, {})).toThrow(/maxConcurrency/);
    expect(() => loadSidecarConfig(base, { SWITCHYARD_EXECUTORS: 'shell,gpt' })).toThrow(/unknown executor 'gpt'/);
  });

  test('the socket URL comes from any form of the hub URL', () => {
    expect(agentSocketUrl('http://10.0.0.5:7070')).toBe('ws://10.0.0.5:7070/v1/agent');
    expect(agentSocketUrl('https://hub.example/')).toBe('wss://hub.example/v1/agent');
  });
});
