/**
 * The two adversarial findings, as an operator meets them: real hub processes (the compiled CLI)
 * on a data folder, stopped cleanly or killed, the files damaged, then `switchyard hub check` and
 * the hub started again. Plus the case that must raise no alarm: a hub killed with SIGKILL.
 */
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { stopAfterEach } from '../support/cleanup.js';
import { runCli, show } from '../support/cli-run.js';
import { ADMIN, api, ensureBuilt, freePort, startHubProc, waitFor } from '../support/processes.js';
import { makeTempDir, removeDir } from '../support/queue-store.js';
import { fileOf, truncateTo } from './fixture.js';

const procs = stopAfterEach();
let dataDir: string;
let tasksDir: string;
beforeAll(() => ensureBuilt());
beforeEach(async () => {
  dataDir = await makeTempDir('sy-recovery-cli-');
  tasksDir = join(dataDir, 'tasks');
});
afterEach(() => removeDir(dataDir));

async function hub(env: NodeJS.ProcessEnv = {}) {
  const h = await startHubProc(dataDir, await freePort(), env);
  procs.push(h.proc);
  return h;
}

/** 1,000 tasks through the REST API; returns the ids. */
async function thousandTasks(url: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) {
    const res = await api<{ tasks: Array<{ id: string }> }>(url, 'POST', '/v1/tasks/batch', { tasks: Array.from({ length: 100 }, (_, j) => ({ title: `task ${i * 100 + j}` })) });
    expect(res.status).toBe(201);
    ids.push(...res.body.tasks.map((t) => t.id));
  }
  return ids;
}

async function stop(h: { proc: { kill(s: NodeJS.Signals): void; exited: Promise<unknown> } }, signal: NodeJS.Signals): Promise<void> {
  h.proc.kill(signal);
  await h.proc.exited;
}

const queued = async (url: string) => (await api<{ queue: { by_status: { queued?: number } } }>(url, 'GET', '/v1/health')).body.queue.by_status.queued;
const check = () => runCli(['hub', 'check', '--data', dataDir]);
const start = (...flags: string[]) => runCli(['hub', '--data', dataDir, '--port', '0', ...flags], { env: { SWITCHYARD_ADMIN_TOKEN: ADMIN } });

describe('a stopped hub whose tasks/CURRENT was deleted (it once started as an empty store)', () => {
  it('hub check says DAMAGED naming the file; the hub repairs it on a copy and serves all 1,000 tasks', async () => {
    const first = await hub();
    await thousandTasks(first.url);
    await stop(first, 'SIGTERM');
    // Once more, so that LevelDB moves its log into a table file: the file an empty store deleted.
    await stop(await hub(), 'SIGTERM');
    const table = await fileOf(tasksDir, /\.ldb$/);
    await unlink(join(tasksDir, 'CURRENT'));

    const r = await check();
    expect(r.code, show(r)).toBe(1);
    expect(r.stdout).toContain(`DAMAGED: ${join(tasksDir, 'CURRENT')} is missing`);

    const refused = await start('--on-corruption', 'refuse');
    expect(refused.code, show(refused)).toBe(1);
    expect(refused.stderr).toContain('STORE_CORRUPT');
    expect(refused.stderr).toContain(`${join(tasksDir, 'CURRENT')} is missing`);

    const again = await hub();
    expect(await queued(again.url)).toBe(1000);
    const health = (await api<{ recovery: { action: string; moved_aside: string } }>(again.url, 'GET', '/v1/health')).body;
    expect(health.recovery.action).toBe('repaired');
    expect(await readFile(join(dataDir, health.recovery.moved_aside, 'tasks', table.split('/').at(-1)!))).toBeTruthy();
    await stop(again, 'SIGTERM');
    const after = await check();
    expect(after.code, show(after)).toBe(0);
    expect(after.stdout).toContain('ok: 1000 tasks');
  });
});

describe('a stopped hub whose .log was truncated (it once started cleanly, 25 acknowledged tasks gone)', () => {
  it('hub check says LOST WRITES; the hub will not start without a backup unless told to keep what is left, and then reports the loss', async () => {
    const first = await hub();
    const ids = await thousandTasks(first.url);
    // Killed, not stopped: the watermark is what the hub wrote on its own within a second.
    await waitFor('the watermark to reach the last task', async () => JSON.parse(await readFile(join(dataDir, 'watermark.json'), 'utf8')).newest_task === ids.at(-1), 10_000);
    await stop(first, 'SIGKILL');
    await truncateTo(await fileOf(tasksDir, /\.log$/), 0.9);

    const r = await check();
    expect(r.code, show(r)).toBe(1);
    expect(r.stdout).toMatch(/LOST WRITES: \S+ the store lost acknowledged writes: .* but the hub acknowledged up to event \S+ and task \S+/);

    const refused = await start();
    expect(refused.code, show(refused)).toBe(1);
    expect(refused.stderr).toContain('no verified backup');
    expect(refused.stderr).toContain('switchyard hub check');

    const kept = await hub({ SWITCHYARD_ON_CORRUPTION: 'repair' });
    const left = await queued(kept.url);
    expect(left).toBeLessThan(1000);
    const health = (await api<{ recovery: { action: string; lost: { acknowledged_task: string } } }>(kept.url, 'GET', '/v1/health')).body;
    expect(health.recovery).toMatchObject({ action: 'kept', lost: { acknowledged_task: ids.at(-1) } });
    await kept.proc.waitForLog('kept the store as it is');

    // Writes wait for an operator; `switchyard hub ack` ends the hold.
    const held = (await api<{ status: string; degraded: { reason: string; needs_ack: boolean } | null }>(kept.url, 'GET', '/v1/health')).body;
    expect(held).toMatchObject({ status: 'degraded', degraded: { reason: 'restore_lost_data', needs_ack: true } });
    expect((await api<{ code: string }>(kept.url, 'POST', '/v1/tasks', { title: 'while held' })).body.code).toBe('STORE_DEGRADED');
    const ack = await runCli(['hub', 'ack', '--hub', kept.url], { env: { SWITCHYARD_ADMIN_TOKEN: ADMIN } });
    expect(ack.code, show(ack)).toBe(0);
    expect(ack.stdout).toContain('acknowledged: the hub is ok');
    expect((await api(kept.url, 'POST', '/v1/tasks', { title: 'after the ack' })).status).toBe(201);
    const again = await runCli(['hub', 'ack', '--hub', kept.url], { env: { SWITCHYARD_ADMIN_TOKEN: ADMIN } });
    expect(again.stdout).toContain('nothing to acknowledge');
  });
});

describe('a hub killed with SIGKILL', () => {
  it('starts again with nothing to recover: the watermark is never ahead of the store', async () => {
    const first = await hub();
    await thousandTasks(first.url);
    await stop(first, 'SIGKILL');
    const again = await hub({ SWITCHYARD_ON_CORRUPTION: 'refuse' });
    expect(await queued(again.url)).toBe(1000);
    expect((await api<{ recovery: unknown }>(again.url, 'GET', '/v1/health')).body.recovery).toBeNull();
  });
});
