/**
 * Backups and restore with real processes: the compiled CLI's hub, killed with SIGKILL in the
 * middle of a backup (no half backup counted; the next start removes it; the next backup
 * succeeds), and the operator's round trip through the CLI — `switchyard hub backup` against a
 * running hub, `switchyard hub restore` refusing while it runs, a dry run, the restore, and a
 * sidecar whose token still connects to the restored hub.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackups, verifyBackup } from '../../hub/backup/index.js';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import type { BackupEntry, BackupList } from '../../shared/rest.js';
import type { Task, TaskEvent } from '../../shared/task.js';
import { runCli, show } from '../support/cli-run.js';
import { stopAfterEach } from '../support/cleanup.js';
import { ADMIN, api, ensureBuilt, freePort, registerAgent, startHubProc, startSidecarProc, tempDir, waitFor } from '../support/processes.js';
import { spec } from '../support/queue-store.js';

const procs = stopAfterEach();
beforeAll(() => ensureBuilt());
const temps: string[] = [];
afterAll(async () => {
  for (const d of temps) await rm(d, { recursive: true, force: true });
});
function temp(prefix: string): string {
  const d = tempDir(prefix);
  temps.push(d);
  return d;
}

const NO_SCHEDULE = { SWITCHYARD_BACKUP_EVERY_MS: '0' };

async function startHub(data: string, port: number) {
  const hub = await startHubProc(data, port, NO_SCHEDULE);
  procs.push(hub.proc);
  return hub;
}

describe('a hub killed during a backup', () => {
  it('counts no half backup, removes it at the next start, and the next backup succeeds', async () => {
    const data = temp('backup-kill');
    // A store big enough that the backup takes a while (filled directly, not through REST).
    const store = await openTaskStore(join(data, 'tasks'));
    const filler = 'f'.repeat(400);
    for (let i = 0; i < 40; i++) await store.createMany(Array.from({ length: 1000 }, (_, j) => spec(`t${i}-${j}`, { description: filler })), 'admin');
    await store.close();

    const port = await freePort();
    const hub = await startHub(data, port);
    const backups = join(data, 'backups');
    const answer = api(hub.url, 'POST', '/v1/backups').catch((err: Error) => err);
    const partial = await waitFor(
      'a .partial- backup folder',
      async () => (await readdir(backups).catch(() => [] as string[])).find((n) => n.startsWith('.partial-')),
      30_000,
    );
    hub.proc.kill('SIGKILL');
    await hub.proc.exited;
    expect(await answer).toBeInstanceOf(Error); // the request died with the hub: nothing was acknowledged
    expect(await readdir(backups)).toContain(partial); // interrupted, really
    expect(await listBackups(data)).toEqual([]);

    const again = await startHub(data, port);
    await again.proc.waitForLog('removed a backup that did not finish');
    expect((await readdir(backups)).filter((n) => n.startsWith('.partial-'))).toEqual([]);
    expect((await api<BackupList>(again.url, 'GET', '/v1/backups')).body.backups).toEqual([]);
    const taken = await api<BackupEntry>(again.url, 'POST', '/v1/backups');
    expect(taken.status, JSON.stringify(taken.body)).toBe(201);
    expect(taken.body.manifest.tasks).toBe(40_000);
    await verifyBackup(taken.body.dir, taken.body.manifest);
    expect((await listBackups(data)).map((b) => b.dir)).toEqual([taken.body.dir]);
  });
});

describe('switchyard hub backup / restore', () => {
  it('round trip through the CLI: tasks and events identical, and a sidecar token still connects', async () => {
    const data = temp('backup-cli');
    const port = await freePort();
    const env = { SWITCHYARD_ADMIN_TOKEN: ADMIN, SWITCHYARD_HUB: `http://127.0.0.1:${port}` };
    const hub = await startHub(data, port);
    const token = await registerAgent(hub.url, 'a1');
    for (let i = 0; i < 5; i++) expect((await api(hub.url, 'POST', '/v1/tasks', spec(`kept ${i}`))).status).toBe(201);
    const tasksAtBackup = (await api<{ tasks: Task[] }>(hub.url, 'GET', '/v1/tasks?limit=1000')).body.tasks;
    const eventsAtBackup = (await api<{ events: TaskEvent[] }>(hub.url, 'GET', '/v1/events?limit=1000')).body.events;

    const backup = await runCli(['hub', 'backup', '--data', data], { env });
    expect(backup.code, show(backup)).toBe(0);
    expect(backup.stderr).toMatch(/the hub is running on .*: asking it to take the backup/);
    expect(backup.stdout).toMatch(/backup verified: .*backups\/\d{4}-.*Z\n\s+taken .*: 5 tasks, 5 events, 1 agents/);

    for (let i = 0; i < 2; i++) expect((await api(hub.url, 'POST', '/v1/tasks', spec(`lost ${i}`))).status).toBe(201);
    const refused = await runCli(['hub', 'restore', '--data', data, '--yes'], { env });
    expect(refused.code, show(refused)).toBe(1);
    expect(refused.stderr).toMatch(/STORE_LOCKED: a hub is running on .*stop it first/);

    hub.proc.kill('SIGTERM');
    await hub.proc.exited;
    const dry = await runCli(['hub', 'restore', '--data', data], { env });
    expect(dry.code, show(dry)).toBe(1);
    expect(dry.stdout).toMatch(/would restore .*\n.*5 tasks, 5 events, 1 agents\n\s+would be GONE: 2 tasks created and 2 events/);
    expect((await readdir(data)).filter((n) => n.startsWith('damaged-'))).toEqual([]);

    const restore = await runCli(['hub', 'restore', '--data', data, '--yes'], { env });
    expect(restore.code, show(restore)).toBe(0);
    expect(restore.stdout).toMatch(/restored .*\n\s+taken .*: 5 tasks, 5 events, 1 agents/);
    expect(restore.stdout).toMatch(/moved to .*damaged-.*; nothing was deleted/);
    expect(restore.stdout).toMatch(/GONE: 2 tasks created and 2 task events recorded between .* and .*; they cannot be recovered/);

    // A stopped hub's data is backed up by the CLI itself.
    const offline = await runCli(['hub', 'backup', '--data', data], { env });
    expect(offline.code, show(offline)).toBe(0);
    expect(offline.stderr).toBe('');
    expect(offline.stdout).toMatch(/: 5 tasks, 5 events, 1 agents/);

    const back = await startHub(data, port);
    expect((await api<{ tasks: Task[] }>(back.url, 'GET', '/v1/tasks?limit=1000')).body.tasks).toEqual(tasksAtBackup);
    expect((await api<{ events: TaskEvent[] }>(back.url, 'GET', '/v1/events?limit=1000')).body.events).toEqual(eventsAtBackup);
    const sidecar = startSidecarProc(back.url, 'a1', token, temp('backup-sidecar'));
    procs.push(sidecar);
    await sidecar.waitForLog('connected to hub');
  });

  it('explains itself: --help of both commands', async () => {
    const b = await runCli(['hub', 'backup', '--help']);
    expect(b.code, show(b)).toBe(0);
    expect(b.stdout).toMatch(/Usage: switchyard hub backup/);
    const r = await runCli(['hub', 'restore', '--help']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/moved aside into DATA\/damaged-<UTC time>\/,\s+never deleted/);
  });
});
