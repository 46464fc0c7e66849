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

describe('sidecar config schema', () => {
  const base = { hubUrl: 'http://h', agentId: 'a', token: 't' };

  test('a setting the schema does not define is refused, naming the file', () => {
    const file = join(tempDir('cfg'), 'sidecar.json');
    writeFileSync(file, JSON.stringify({ maxConcurency: 2 }));
    expect(() => loadSidecarConfig({ ...base, configFile: file }, {})).toThrow(`'maxConcurency' is not a setting (from ${file})`);
  });

  test('lists from the environment and flags are split and checked item by item', () => {
    const cfg = loadSidecarConfig({ ...base, capabilities: 'gpu, cuda12' }, { SWITCHYARD_EXECUTORS: 'shell,ollama' });
    expect(cfg.capabilities).toEqual(['gpu', 'cuda12']);
    expect(cfg.executors).toEqual(['shell', 'ollama']);
    expect(() => loadSidecarConfig({ ...base, capabilities: 'gpu,has space' }, {})).toThrow(/capabilities\[1\] must be 1-64 of .* got 'has space'/);
    expect(() => loadSidecarConfig({ ...base, maxConcurrency: 'four' }, {})).toThrow("maxConcurrency must be an integer from 1 to 256, got 'four' (from --concurrency)");
  });

  test('repo entries are checked by their one schema at load, with its defaults filled in, and everything is frozen', () => {
    const cfg = loadSidecarConfig({ ...base, repos: [{ name: 'api', path: '/srv/api' }] }, {});
    expect(cfg.repos[0]).toEqual({ name: 'api', path: '/srv/api', default_branch: 'main', test_command: null, audit_command: null, remote: 'origin', env: {} });
    expect(Object.isFrozen(cfg.repos[0])).toBe(true);
    expect(Object.isFrozen(cfg.capabilities)).toBe(true);
    expect(() => loadSidecarConfig({ ...base, repos: [{ name: 'api', path: 'srv/api' }] }, {})).toThrow(/repos\[0\]\.path must be an absolute path/);
    expect(() => loadSidecarConfig({ ...base, repos: [{ name: 'api' }] }, {})).toThrow(/repos\[0\] needs exactly one of path and url/);
  });

  test('the token never appears in a message', () => {
    const token = `sy_agent_${'x'.repeat(600)}`;
    let message = '';
    try {
      loadSidecarConfig({ ...base, token }, {});
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/token must be a string of 1 to 512 characters/);
    expect(message).not.toContain('xxxx');
  });
});
