/**
 * Retention and the start-up check together: a hub idle for longer than its retention period
 * archives everything final, except the newest task and the task with the newest event, which
 * the start-up check compares with the watermark. The next start must find no lost writes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../../hub/app.js';
import { loadHubConfig } from '../../hub/config.js';
import { createLogger } from '../../shared/logger.js';
import { ADMIN_TOKEN, waitFor } from '../support/hub-inproc.js';

let dir = '';
const open: RunningHub[] = [];
afterEach(async () => {
  for (const hub of open.splice(0)) await hub.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const start = async (retention: boolean) => {
  const config = loadHubConfig(
    { dataDir: dir, port: 0, adminToken: ADMIN_TOKEN, logLevel: 'silent', retentionCancelledMs: 1, retentionEveryMs: retention ? 100 : 0, idempotencyKeepMs: 0 },
    {},
  );
  const hub = await startHub(config, createLogger('hub', 'silent'));
  open.push(hub);
  return hub;
};

describe('retention, then a restart', () => {
  it('keeps the newest task and the newest event, so the start-up check sees no lost writes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sy-retain-restart-'));
    const hub = await start(true);
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: auth, payload: { title: `t${i}` } });
      ids.push(res.json().id as string);
    }
    // Cancelled out of order: the newest event belongs to an older task.
    for (const id of [...ids.slice(0, 10), ...ids.slice(11), ids[10]!]) {
      expect((await hub.app.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: auth })).statusCode).toBe(200);
    }
    const live = async (id: string) => (await hub.app.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: auth })).json() as { archived?: boolean };
    await waitFor(async () => (await live(ids[0]!)).archived === true, 'the first task archived', 10_000);
    await waitFor(async () => (await live(ids[18]!)).archived === true, 'the 19th task archived', 10_000);
    // The newest task and the one whose cancel was the last event stay in the live store.
    expect((await live(ids[19]!)).archived).toBeUndefined();
    expect((await live(ids[10]!)).archived).toBeUndefined();
    await hub.close();
    open.splice(0);

    const again = await start(false);
    const health = (await again.app.inject({ method: 'GET', url: '/v1/health' })).json() as { recovery: unknown; status: string };
    expect(health.recovery).toBeNull();
    expect(health.status).toBe('ok');
  });
});
