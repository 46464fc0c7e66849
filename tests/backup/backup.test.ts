/**
 * Online backups of a running hub, in process, on real LevelDB: what a backup holds (counts,
 * newest event, checksum), that the hub keeps taking writes while one runs and the backup is one
 * consistent state, the health field and the bus event, keeping the newest N, and a backup that
 * did not finish never counting.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listBackups, prepareDataDir, readManifest, verifyBackup } from '../../hub/backup/index.js';
import type { BackupEntry, BackupManifest, Health } from '../../shared/rest.js';
import { startInprocHub, type InprocHub } from '../support/hub-inproc.js';
import { spec } from '../support/queue-store.js';
import { dumpStore, isDir, withoutBackupAudit } from './support.js';

const open: InprocHub[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function hubWith(tasks: number, config: Parameters<typeof startInprocHub>[0] = {}): Promise<InprocHub> {
  const h = await startInprocHub({ ...config, config: { backupEveryMs: 0, ...config.config } });
  open.push(h);
  for (let i = 0; i < tasks; i += 500) {
    await h.store.createMany(Array.from({ length: Math.min(500, tasks - i) }, (_, j) => spec(`task ${i + j}`)), 'test');
  }
  return h;
}

async function backupNow(h: InprocHub): Promise<BackupEntry> {
  const res = await h.hub.app.inject({ method: 'POST', url: '/v1/backups', headers: h.auth() });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as BackupEntry;
}

describe('online backup', () => {
  it('writes a verified backup with counts per key space, the newest event and a checksum; lists it; health and the bus tell', async () => {
    const h = await hubWith(120);
    await h.addAgent('a1');
    const done: Array<{ ok: boolean; manifest?: BackupManifest }> = [];
    h.hub.bus.on('backup.done', (e) => done.push(e));

    const { dir, manifest } = await backupNow(h);
    expect(dir.startsWith(join(h.dir, 'backups'))).toBe(true);
    expect(manifest.format).toBe(1);
    expect(manifest.tasks).toBe(120);
    expect(manifest.events).toBe(120); // one 'created' event each
    expect(manifest.agents).toBe(1);
    expect(manifest.stores.tasks!.by_prefix.t).toBe(120);
    expect(manifest.stores.agents!.by_prefix.g).toBe(1);
    const newest = (await h.store.events({ limit: 1000 })).items.at(-1)!;
    expect(manifest.newest_event_id).toBe(newest.id);
    expect(manifest.newest_event_at).toBe(newest.at);
    // The backup's stores hold what the live stores hold, key for key.
    await h.hub.close();
    expect(await dumpStore(join(dir, 'tasks'))).toEqual(await dumpStore(join(h.dir, 'tasks')));
    expect(await dumpStore(join(dir, 'agents'))).toEqual(withoutBackupAudit(await dumpStore(join(h.dir, 'agents'))));
    expect(await readManifest(dir)).toEqual(manifest);
    await verifyBackup(dir, manifest);
    expect(done).toEqual([expect.objectContaining({ ok: true, dir, manifest })]);
  });

  it('shows the last backup in /v1/health and lists backups newest first; keeps the newest backupKeep', async () => {
    const h = await hubWith(10, { config: { backupKeep: 2 } });
    let health = (await h.hub.app.inject({ method: 'GET', url: '/v1/health' })).json() as Health;
    expect(health.backups).toEqual({ last: null, next_at: null, running: false, kept: 0 });
    const taken: string[] = [];
    for (let i = 0; i < 3; i++) taken.push((await backupNow(h)).dir);
    const list = (await h.hub.app.inject({ method: 'GET', url: '/v1/backups', headers: h.auth() })).json() as { backups: BackupEntry[] };
    expect(list.backups.map((b) => b.dir)).toEqual([taken[2], taken[1]]);
    expect(await isDir(taken[0]!)).toBe(false);
    health = (await h.hub.app.inject({ method: 'GET', url: '/v1/health' })).json() as Health;
    expect(health.backups).toMatchObject({ last: { ok: true, dir: taken[2] }, kept: 2, running: false });
  });

  it('needs the admin token', async () => {
    const h = await hubWith(0);
    const res = await h.hub.app.inject({ method: 'POST', url: '/v1/backups' });
    expect(res.statusCode).toBe(401);
    expect((res.json() as { code: string }).code).toBe('UNAUTHORIZED');
  });

  it('keeps taking writes while a backup runs, and the backup is one state of the store', async () => {
    const h = await hubWith(6000);
    const before = (await h.store.stats()).byStatus.queued ?? 0;
    const backup = backupNow(h);
    // Writes during the backup: each is acknowledged (durable) while the copy is under way.
    let written = 0;
    let settled = false;
    void backup.finally(() => (settled = true));
    while (!settled && written < 3000) {
      await h.store.createMany(Array.from({ length: 50 }, (_, j) => spec(`during ${written + j}`)), 'test');
      written += 50;
    }
    const { manifest } = await backup;
    expect(written).toBeGreaterThan(0);
    // A state between the one before and the one after, and consistent within itself: every task
    // in it has its 'created' event and its status index key (the snapshot saw whole batches).
    expect(manifest.tasks).toBeGreaterThanOrEqual(before);
    expect(manifest.tasks).toBeLessThanOrEqual(before + written);
    expect(manifest.events).toBe(manifest.tasks);
    expect(manifest.stores.tasks!.by_prefix.s).toBe(manifest.tasks);
    expect(manifest.stores.tasks!.by_prefix.r).toBe(manifest.tasks);
  });

  it('answers a request that comes while one runs with a backup of its own, taken after it', async () => {
    const h = await hubWith(2000);
    const first = backupNow(h);
    await h.store.createMany([spec('after the first began')], 'test');
    const second = backupNow(h);
    const [a, b] = await Promise.all([first, second]);
    expect(b.dir).not.toBe(a.dir);
    expect(b.manifest.tasks).toBe(2001);
    expect(b.manifest.created_at).toBeGreaterThanOrEqual(a.manifest.created_at);
  });

  it('never counts a backup that did not finish, and removes it at the next start', async () => {
    const h = await hubWith(5);
    const { dir } = await backupNow(h);
    // What a kill -9 mid-backup leaves: a .partial- folder with part of a store and no manifest.
    const partial = join(h.dir, 'backups', '.partial-2020-01-01T00-00-00.000Z');
    await mkdir(join(partial, 'tasks'), { recursive: true });
    await writeFile(join(partial, 'tasks', 'CURRENT'), 'MANIFEST-000001\n');
    expect((await listBackups(h.dir)).map((b) => b.dir)).toEqual([dir]);
    await prepareDataDir(h.dir);
    expect(await readdir(join(h.dir, 'backups'))).toEqual([dir.split('/').at(-1)]);
  });

  it('refuses to count a backup whose copy differs from its manifest', async () => {
    const h = await hubWith(5);
    const { dir, manifest } = await backupNow(h);
    const wrong = { ...manifest, stores: { ...manifest.stores, tasks: { ...manifest.stores.tasks!, keys: manifest.stores.tasks!.keys + 1 } } };
    await expect(verifyBackup(dir, wrong)).rejects.toMatchObject({ code: 'BACKUP_INVALID' });
    expect(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))).toEqual(manifest);
  });

  it('takes backups on its schedule, and says when the next one is due', async () => {
    const h = await hubWith(3, { config: { backupEveryMs: 300, backupKeep: 2 } });
    const done: Array<{ ok: boolean; at: number }> = [];
    h.hub.bus.on('backup.done', (e) => done.push(e));
    await waitUntil(() => done.length >= 3, 'three scheduled backups');
    expect(done.every((d) => d.ok)).toBe(true);
    expect(await listBackups(h.dir)).toHaveLength(2);
    const health = (await h.hub.app.inject({ method: 'GET', url: '/v1/health' })).json() as Health;
    expect(health.backups!.next_at).toBe(health.backups!.last!.at + 300);
  });

  it('abandons a running backup when the hub stops: no partial folder left, nothing counted', async () => {
    const h = await hubWith(8000);
    const answer = h.hub.app.inject({ method: 'POST', url: '/v1/backups', headers: h.auth() }).catch((err: Error) => err);
    const backups = join(h.dir, 'backups');
    await waitUntil(async () => (await readdir(backups).catch(() => [] as string[])).some((n) => n.startsWith('.partial-')), 'the backup to start');
    await h.hub.close();
    await answer;
    expect(await readdir(backups)).toEqual([]);
    expect(await listBackups(h.dir)).toEqual([]);
  });
});

async function waitUntil(probe: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
