/**
 * The periodic health check (docs/host-faults.md, "Health checks"): a working executor is proven
 * again with a real generation every healthCheckMs; one failed check does not mark it unhealthy,
 * `healthFailures` in a row do; a passing check brings it back. A real sidecar and hub over
 * 127.0.0.1, and a fake Ollama speaking the real API (/api/generate answering an error).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pino } from 'pino';
import type { ExecutorInfo } from '../../sidecar/executors/executor.js';
import { loadSidecarConfig } from '../../sidecar/config.js';
import { OllamaExecutor } from '../../sidecar/executors/ollama.js';
import { HealthMisses } from '../../sidecar/health-misses.js';
import { Sidecar } from '../../sidecar/sidecar.js';
import { startFakeOllama, type FakeOllama } from '../fixtures/fake-ollama.js';
import { startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';
import { tempDir } from '../support/processes.js';

const open: Array<{ close(): Promise<void> } | { stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await ('stop' in x ? x.stop() : x.close());
});

const up = (name: 'ollama' | 'claude', detail = 'ok'): ExecutorInfo => ({ name, available: true, models: ['m'], detail });
const down = (name: 'ollama' | 'claude', detail = 'cannot generate'): ExecutorInfo => ({ name, available: false, models: [], detail });

describe('HealthMisses', () => {
  it('holds the last good description through misses below the tolerance, gives up at it, and resets on a pass', () => {
    const m = new HealthMisses(3);
    m.observe([up('ollama', 'v1')]);
    expect(m.filter([down('ollama')])).toEqual({ infos: [up('ollama', 'v1')], held: [{ name: 'ollama', misses: 1, detail: 'cannot generate' }] });
    expect(m.filter([down('ollama')]).held[0]!.misses).toBe(2);
    expect(m.filter([down('ollama')])).toEqual({ infos: [down('ollama')], held: [] });
    // Unhealthy now: the next miss is not held (it must pass again first).
    expect(m.filter([down('ollama')]).infos[0]!.available).toBe(false);
    expect(m.filter([up('ollama', 'v2')]).infos).toEqual([up('ollama', 'v2')]);
    // A pass in between starts the count again.
    m.filter([down('ollama')]);
    m.filter([up('ollama', 'v2')]);
    expect(m.filter([down('ollama')]).held[0]!.misses).toBe(1);
  });

  it('never holds an executor that has not passed a check (one down at start stays down), nor one a deciding check found down since', () => {
    const m = new HealthMisses(3);
    m.observe([down('claude', 'not logged in')]);
    expect(m.filter([down('claude', 'not logged in')])).toEqual({ infos: [down('claude', 'not logged in')], held: [] });
    m.observe([up('ollama')]);
    // A recheck (not the periodic check) finds it down: the next periodic miss is not held on the old description.
    m.observe([down('ollama')]);
    expect(m.filter([down('ollama')])).toEqual({ infos: [down('ollama')], held: [] });
  });
});

describe('the periodic health check on a real sidecar', () => {
  it('one failed generation keeps Ollama available; three in a row mark it unavailable with the reason; a pass brings it back', async () => {
    const h: InprocHub = await startInprocHub({ listen: true, config: { heartbeatMs: 100 } });
    open.push(h);
    const fake: FakeOllama = await startFakeOllama();
    open.push(fake);
    const token = await h.addAgent('gpu');
    const config = loadSidecarConfig({ hubUrl: h.url, agentId: 'gpu', token, dataDir: join(tempDir('hc'), 'data'), executors: ['ollama'], healthCheckMs: 150, healthFailures: 3 }, {});
    const s = new Sidecar(config, new Map([['ollama', new OllamaExecutor({ baseUrl: fake.url })]]), pino({ enabled: false }));
    open.push(s);
    await s.start();
    const advert = () => h.hub.registry.get('gpu')?.executors.find((e) => e.name === 'ollama');
    await waitFor(() => advert()?.available === true, 'ollama available at start');

    const generations = () => fake.requests.filter((r) => r.path === '/api/generate').length;
    const before = generations();
    fake.generate = { status: 500, error: 'CUDA error: out of memory' };
    // Two checks fail: still advertised as available.
    await waitFor(() => generations() >= before + 2, 'two failed health checks', 10_000);
    expect(advert()?.available).toBe(true);
    // The third in a row: unavailable, with what Ollama said.
    await waitFor(() => advert()?.available === false, 'ollama marked unavailable after three misses', 10_000);
    expect(generations()).toBeGreaterThanOrEqual(before + 3);
    expect(advert()!.reason).toMatch(/cannot generate .*out of memory/);

    fake.generate = { response: 'OK' };
    await waitFor(() => advert()?.available === true, 'ollama available again after a passing check', 10_000);
  }, 30_000);
});
