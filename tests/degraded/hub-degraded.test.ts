/**
 * The hub in degraded mode, over REST, on a real full disk (a tmpfs holding its data folder):
 * writes refused with STORE_DEGRADED (503, retryable, Retry-After) and not a 500, the agent store
 * included; reads, health and the feed's store.health frames go on; the hub takes writes again by
 * itself once space returns. And the operator's hold: a degraded state that only
 * POST /v1/health/ack ends.
 */
import { describe, expect, it } from 'vitest';
import type { Health, HealthAck } from '../../shared/rest.js';
import { closeAfterEach } from '../support/cleanup.js';
import { RawClient, startInprocHub } from '../support/hub-inproc.js';
import { waitFor } from '../support/processes.js';
import { tmpfsAfterEach } from '../support/tmpfs.js';

const mount = tmpfsAfterEach();
const track = closeAfterEach();

describe('the hub in degraded mode', () => {
  it('refuses writes with STORE_DEGRADED on a full disk, serves reads and health, and recovers by itself', async () => {
    const fs = await mount(24 * 1024);
    const h = track(await startInprocHub({ parentDir: fs.dir, storeOptions: { probeMinMs: 50 } }));
    const frames: Array<{ healthy: boolean; reason?: string }> = [];
    h.hub.bus.on('store.health', (f) => frames.push(f));
    const post = (title: string) =>
      h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title, description: 'z'.repeat(60_000) } });
    const first = await post('first');
    expect(first.statusCode).toBe(201);
    await h.addAgent('before-full');

    await fs.fill(0);
    let refused;
    for (let i = 0; i < 50; i++) {
      const res = await post(`during ${i}`);
      if (res.statusCode !== 201) {
        refused = res;
        break;
      }
    }
    expect(refused?.statusCode).toBe(503);
    expect(refused!.json()).toMatchObject({ code: 'STORE_DEGRADED', retryable: true, details: { reason: 'disk_full', needs_ack: false } });
    expect(Number(refused!.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    const health = await h.hub.app.inject({ method: 'GET', url: '/v1/health' });
    expect(health.statusCode).toBe(503);
    expect(health.json<Health>()).toMatchObject({ status: 'degraded', store: 'failed', degraded: { reason: 'disk_full', code: 'STORE_DEGRADED', needs_ack: false }, log: { dropped: 0 } });
    const list = await h.hub.app.inject({ method: 'GET', url: '/v1/tasks', headers: h.auth() });
    expect(list.statusCode).toBe(200);
    expect((list.json() as { tasks: Array<{ title: string }> }).tasks.map((t) => t.title)).toContain('first');
    // The agent store is on the same full disk: the same code, not a 500 (its log file may have
    // room for a few small records in its last page first).
    const registered = ['before-full'];
    let agent;
    for (let i = 0; i < 200; i++) {
      agent = await h.hub.app.inject({ method: 'POST', url: '/v1/agents', headers: h.auth(), payload: { id: `during-full-${i}`, description: 'd'.repeat(1000) } });
      if (agent.statusCode !== 201) break;
      registered.push(`during-full-${i}`);
    }
    expect(agent!.statusCode).toBe(503);
    expect(agent!.json()).toMatchObject({ code: 'STORE_DEGRADED', retryable: true, details: { reason: 'disk_full' } });
    expect(frames.at(-1)).toMatchObject({ healthy: false, reason: 'disk_full' });

    await fs.free();
    await waitFor('health ok again', async () => (await h.hub.app.inject({ method: 'GET', url: '/v1/health' })).statusCode === 200);
    const after = await h.hub.app.inject({ method: 'GET', url: '/v1/health' });
    expect(after.json<Health>()).toMatchObject({ status: 'ok', store: 'ok', degraded: null });
    expect(frames.at(-1)).toMatchObject({ healthy: true });
    expect((await post('after')).statusCode).toBe(201);
    // The agent store recovers on its next write.
    await h.addAgent('after-full');
    expect((await h.agents.list()).map((a) => a.id).sort()).toEqual([...registered, 'after-full'].sort());
  });

  it('offers the work that waited to an idle agent once writes resume, without a heartbeat to prompt it', async () => {
    const fs = await mount(24 * 1024);
    const h = track(await startInprocHub({ listen: true, parentDir: fs.dir, storeOptions: { probeMinMs: 50 } }));
    const token = await h.addAgent('w1');
    const waiting = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'waited', command: 'true' } });
    expect(waiting.statusCode).toBe(201);
    await fs.fill(0);
    for (let i = 0; i < 50 && h.store.healthy(); i++) {
      await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: `filler ${i}`, description: 'z'.repeat(60_000) } });
    }
    expect(h.store.healthy()).toBe(false);
    // It connects while degraded: the hub cannot lease it anything (no retry loop either).
    const client = track(await RawClient.connect(h.wsUrl, 'w1', token));
    await new Promise((r) => setTimeout(r, 200));
    expect(client.received.some((m) => m.type === 'task.assign')).toBe(false);
    await fs.free();
    const assign = await client.nextOf('task.assign', 10_000);
    expect((assign.task as { title: string }).title).toBe('waited');
  });

  it("holds writes until an operator acknowledges (POST /v1/health/ack, admin only)", async () => {
    const h = track(await startInprocHub({ storeOptions: { probeMinMs: 50 } }));
    h.hub.services.health.degrade({ reason: 'restore_lost_data', message: 'restored from a backup: changes after it are lost', needsAck: true });
    const refused = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'held', command: 'true' } });
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toMatchObject({ code: 'STORE_DEGRADED', details: { reason: 'restore_lost_data', needs_ack: true } });
    expect(refused.json<{ message: string }>().message).toContain('POST /v1/health/ack');
    // The hold stays: no probe ends it.
    await new Promise((r) => setTimeout(r, 200));
    const health = await h.hub.app.inject({ method: 'GET', url: '/v1/health' });
    expect(health.json<Health>()).toMatchObject({ status: 'degraded', degraded: { reason: 'restore_lost_data', needs_ack: true } });

    const anonymous = await h.hub.app.inject({ method: 'POST', url: '/v1/health/ack' });
    expect(anonymous.statusCode).toBe(401);
    const ack = await h.hub.app.inject({ method: 'POST', url: '/v1/health/ack', headers: h.auth() });
    expect(ack.statusCode).toBe(200);
    expect(ack.json<HealthAck>()).toMatchObject({ acknowledged: true, health: { status: 'ok', degraded: null } });
    expect((await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'after ack' } })).statusCode).toBe(201);
    const again = await h.hub.app.inject({ method: 'POST', url: '/v1/health/ack', headers: h.auth() });
    expect(again.json<HealthAck>()).toMatchObject({ acknowledged: false, health: { status: 'ok' } });
  });
});
