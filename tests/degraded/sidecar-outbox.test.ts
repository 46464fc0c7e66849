/**
 * A sidecar's result while the hub is degraded: a real hub process whose data folder is a tmpfs
 * that fills up mid-task, and a real sidecar. The hub answers the sidecar's task.complete with a
 * retryable STORE_DEGRADED error frame; the sidecar keeps the result in its outbox (state.json,
 * the task `finished`) and sends it again; once space returns the hub takes writes again by
 * itself and the task completes, once, with that result.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Health } from '../../shared/rest.js';
import type { Task, TaskEvent } from '../../shared/task.js';
import { stopAfterEach } from '../support/cleanup.js';
import { api, ensureBuilt, freePort, registerAgent, startHubProc, startSidecarProc, tempDir, waitFor } from '../support/processes.js';
import { tmpfsAfterEach } from '../support/tmpfs.js';

const mount = tmpfsAfterEach();
const procs = stopAfterEach();
beforeAll(() => ensureBuilt());

// Leases far longer than the test: the task must complete through the outbox, not be reclaimed.
const HUB_ENV = { SWITCHYARD_LEASE_MS: '60000', SWITCHYARD_HEARTBEAT_MS: '300', SWITCHYARD_ACCEPT_TIMEOUT_MS: '5000' };

describe('a sidecar while the hub is degraded', () => {
  it('keeps its result until the hub can take it, then the task completes once', async () => {
    const fs = await mount(32 * 1024);
    const port = await freePort();
    const hub = await startHubProc(join(fs.dir, 'hub'), port, HUB_ENV);
    procs.push(hub.proc);
    const token = await registerAgent(hub.url, 'a1');
    const sideData = tempDir('outbox');
    const sidecar = startSidecarProc(hub.url, 'a1', token, sideData, { SWITCHYARD_RECONNECT_MAX_MS: '1000' });
    procs.push(sidecar);
    await sidecar.waitForLog('connected to hub');

    // A large record: once the disk is full, the next write of it (a renewal) cannot fit.
    const created = await api<Task>(hub.url, 'POST', '/v1/tasks', {
      title: 'finishes while the disk is full',
      description: 'w'.repeat(60_000),
      executor: 'shell',
      command: `while [ ! -e '${join(sideData, 'go')}' ]; do sleep 0.1; done; echo result-of-the-work`,
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    await waitFor('the task running', async () => (await api<{ task: Task }>(hub.url, 'GET', `/v1/tasks/${id}`)).body.task.status === 'running');

    await fs.fill(0);
    const degraded = await waitFor('the hub degraded (a renewal failed)', async () => {
      const h = await api<Health>(hub.url, 'GET', '/v1/health');
      return h.body.status === 'degraded' && h.body;
    });
    expect(degraded.degraded).toMatchObject({ reason: 'disk_full', code: 'STORE_DEGRADED' });

    // Let the work end: the sidecar reports, the hub refuses (retryable), the sidecar keeps it.
    const finishedAt = sidecar.lines.length;
    writeFileSync(join(sideData, 'go'), '');
    await sidecar.waitForLog('task finished', 20_000, finishedAt);
    const kept = await waitFor('the result kept in the outbox', () => {
      const state = JSON.parse(readFileSync(join(sideData, 'state.json'), 'utf8')) as { tasks: Record<string, { state: string; result?: unknown }> };
      const held = state.tasks[id];
      return held?.state === 'finished' && held;
    });
    expect(JSON.stringify(kept.result)).toContain('result-of-the-work');
    // It was sent and refused as retryable: the hub has not recorded it, and says degraded.
    const refusal = await sidecar.waitForLog('the hub cannot take our result yet', 20_000, finishedAt);
    expect(JSON.parse(refusal)).toMatchObject({ task_id: id, code: 'STORE_DEGRADED' });
    await hub.proc.waitForLog('degraded mode');
    const during = await api<{ task: Task }>(hub.url, 'GET', `/v1/tasks/${id}`);
    expect(during.status).toBe(200);
    expect(during.body.task.status).toBe('running');
    expect(sidecar.child.exitCode).toBeNull();
    expect(hub.proc.child.exitCode).toBeNull();

    await fs.free();
    const done = await waitFor(
      'the task completed from the outbox',
      async () => {
        const t = (await api<{ task: Task; events: TaskEvent[] }>(hub.url, 'GET', `/v1/tasks/${id}`)).body;
        return t.task.status === 'completed' && t;
      },
      60_000,
    );
    expect((done.task.result as { output_tail: string }).output_tail).toContain('result-of-the-work');
    expect(done.events.filter((e) => e.to === 'completed')).toHaveLength(1);
    expect(done.task.generation).toBe(1);
    expect((await api<Health>(hub.url, 'GET', '/v1/health')).body.status).toBe('ok');
    await waitFor('the outbox emptied', () => {
      const state = JSON.parse(readFileSync(join(sideData, 'state.json'), 'utf8')) as { tasks: Record<string, unknown> };
      return state.tasks[id] === undefined;
    });
  });
});
