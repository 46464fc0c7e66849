/**
 * Restore, and every way it refuses, on real LevelDB: the round trip (tasks, events, agents,
 * tokens, the admin token file identical), the replaced data moved aside and what is gone
 * counted; a folder that is not a backup, a backup of a newer format, a damaged backup, a running
 * hub, no backup at all: each a clear error with nothing changed. And a backup into a full disk
 * (a small tmpfs): BACKUP_FAILED, nothing half-written kept, the hub still serving.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildHub } from '../../hub/app.js';
import { loadHubConfig } from '../../hub/config.js';
import { listBackups, restoreBackup, takeBackup, verifyBackup } from '../../hub/backup/index.js';
import { checksumOf } from '../../hub/backup/manifest.js';
import { NO_REPO } from '../../hub/history/entry.js';
import { OPERATOR } from '../../hub/service/access.js';
import { openAgentStore } from '../../hub/store/agent-store.js';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import { createLogger } from '../../shared/logger.js';
import type { BackupEntry, BackupManifest } from '../../shared/rest.js';
import { A0, spec } from '../support/queue-store.js';
import { dumpStore, isDir, treeOf, withoutBackupAudit } from './support.js';

const ADMIN = 'sya_test-admin-token-0123456789abcdef';
const dirs: string[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempData(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sy-restore-'));
  dirs.push(d);
  return d;
}

/** A hub on `dataDir` (its stores opened as startHub opens them), built without listening. */
async function openHub(dataDir: string, config: Record<string, unknown> = {}) {
  const cfg = loadHubConfig({ dataDir, port: 0, adminToken: null, logLevel: 'silent', backupEveryMs: 0, ...config }, {});
  await writeFile(join(dataDir, 'admin.token'), `${ADMIN}\n`, { mode: 0o600 }).catch(() => undefined);
  const store = await openTaskStore(join(dataDir, 'tasks'));
  const agents = await openAgentStore(join(dataDir, 'agents'));
  const hub = await buildHub({ config: cfg, store, agents, adminToken: ADMIN, log: createLogger('hub', 'silent') });
  let closed = false;
  const close = async () => {
    if (!closed) await hub.close();
    closed = true;
  };
  closers.push(close);
  const inject = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    hub.app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { hub, store, agents, close, inject };
}

/** A hub with tasks in several states, an agent and a pending join token; returns the agent's token. */
async function populate(h: Awaited<ReturnType<typeof openHub>>): Promise<string> {
  const res = await h.inject('POST', '/v1/agents', { id: 'a0' });
  expect(res.statusCode, res.body).toBe(201);
  const token = (res.json() as { token: string }).token;
  const join = await h.inject('POST', '/v1/join-tokens', {});
  expect(join.statusCode, join.body).toBe(201);
  await h.store.createMany(Array.from({ length: 30 }, (_, i) => spec(`t${i}`)), 'admin');
  const leased = await h.store.leaseNext({ ...A0 });
  expect(leased).not.toBeNull();
  if (leased) {
    await h.store.accept(leased.id, leased.generation, A0.agentId);
    await h.store.complete(leased.id, leased.generation, A0.agentId, { ok: true });
    // The finished task's history entry is written after the completion (hub/features/history.ts):
    // wait for it to be durable, so that the backup below holds all of the hub's state.
    // (A task without a repo has no REST path for its history: the service is asked.)
    for (let i = 0; (await h.hub.services.history.list(OPERATOR, NO_REPO)).entries.length === 0; i++) {
      if (i === 500) throw new Error('the history entry was not written');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  return token;
}

describe('restore', () => {
  it('round trip: tasks, events, agents, tokens and the admin token identical; the replaced data moved aside; what is gone said', async () => {
    const data = await tempData();
    const h = await openHub(data);
    const token = await populate(h);
    const backup = (await h.inject('POST', '/v1/backups')).json() as BackupEntry;
    await h.close();
    const tasksAtBackup = await dumpStore(join(data, 'tasks'));
    const agentsAtBackup = withoutBackupAudit(await dumpStore(join(data, 'agents')));

    // Changes after the backup: they are what a restore loses.
    const later = await openHub(data);
    await later.store.createMany([spec('after 1'), spec('after 2')], 'admin');
    await later.close();
    const replaced = await dumpStore(join(data, 'tasks'));

    const report = await restoreBackup({ dataDir: data });
    expect(report.from).toBe(backup.dir);
    expect(report.lost).toMatchObject({ readable: true, newer_tasks: 2, newer_events: 2, since: backup.manifest.created_at });
    expect(report.lost.until).toBeGreaterThanOrEqual(backup.manifest.created_at);
    expect(report.lines.join('\n')).toMatch(/GONE: 2 tasks created and 2 task events/);
    expect(report.moved_to).toMatch(/damaged-/);
    // vapid.json too: the hub made its push keys at start, and a backup keeps them.
    expect(report.moved.sort()).toEqual(['admin.token', 'agents', 'tasks', 'vapid.json']);

    expect(await dumpStore(join(data, 'tasks'))).toEqual(tasksAtBackup);
    expect(await dumpStore(join(data, 'agents'))).toEqual(agentsAtBackup);
    expect(await dumpStore(join(report.moved_to!, 'tasks'))).toEqual(replaced); // moved aside, never deleted
    expect((await readFile(join(data, 'admin.token'), 'utf8')).trim()).toBe(ADMIN);
    expect(await readdir(data)).not.toContain('restore.json');
    expect((await readdir(data)).filter((n) => n.startsWith('.restore-'))).toEqual([]);

    // The restored hub: the agent's token still authenticates, the tasks are there.
    const back = await openHub(data);
    expect((await back.store.list({ limit: 1000 })).items).toHaveLength(30);
    const self = await back.hub.app.inject({ method: 'GET', url: '/v1/self', headers: { authorization: `Bearer ${token}` } });
    expect(self.statusCode, self.body).toBe(200);
    expect((await back.store.verifyIntegrity()).ok).toBe(true);
  });

  it('refuses a folder that is not a backup, changing nothing', async () => {
    const data = await tempData();
    const h = await openHub(data);
    await populate(h);
    await h.close();
    const before = await treeOf(data);
    const empty = await tempData();
    await expect(restoreBackup({ dataDir: data, from: empty })).rejects.toMatchObject({ code: 'BACKUP_INVALID', message: expect.stringMatching(/is not a backup: it has no manifest.json/) });
    await expect(restoreBackup({ dataDir: data, from: data })).rejects.toMatchObject({ code: 'BACKUP_INVALID' });
    await writeFile(join(empty, 'manifest.json'), '{"format": 1, "name": ');
    await expect(restoreBackup({ dataDir: data, from: empty })).rejects.toMatchObject({ code: 'BACKUP_INVALID', message: expect.stringMatching(/not JSON/) });
    await expect(restoreBackup({ dataDir: data, from: join(empty, 'nope') })).rejects.toMatchObject({ code: 'BACKUP_NOT_FOUND' });
    const partial = join(empty, '.partial-2026-01-01T00-00-00.000Z');
    await mkdir(partial);
    await expect(restoreBackup({ dataDir: data, from: partial })).rejects.toMatchObject({ code: 'BACKUP_INVALID', message: expect.stringMatching(/never finished/) });
    await expect(restoreBackup({ dataDir: data })).rejects.toMatchObject({ code: 'BACKUP_NOT_FOUND', message: expect.stringMatching(/no verified backup/) });
    expect(await treeOf(data)).toEqual(before);
  });

  it('refuses a backup of a newer format, and a damaged one, changing nothing', async () => {
    const data = await tempData();
    const h = await openHub(data);
    await populate(h);
    const { dir, manifest } = (await h.inject('POST', '/v1/backups')).json() as BackupEntry;
    await h.close();
    const before = await treeOf(data);
    const copy = async (edit: (m: BackupManifest) => BackupManifest, recompute = true) => {
      const to = join(await tempData(), 'b');
      await cp(dir, to, { recursive: true });
      const m = edit(structuredClone(manifest));
      if (recompute) m.checksum = checksumOf(m);
      await writeFile(join(to, 'manifest.json'), JSON.stringify(m));
      return to;
    };
    await expect(restoreBackup({ dataDir: data, from: await copy((m) => ({ ...m, format: 2 }), false) })).rejects.toMatchObject({
      code: 'BACKUP_TOO_NEW',
      message: expect.stringMatching(/format 2, newer than this version reads \(1\)/),
    });
    await expect(restoreBackup({ dataDir: data, from: await copy((m) => ({ ...m, store_format: '9' })) })).rejects.toMatchObject({ code: 'BACKUP_TOO_NEW' });
    // An edited manifest (checksum no longer matches), and a store that differs from the manifest.
    await expect(restoreBackup({ dataDir: data, from: await copy((m) => ({ ...m, tasks: 1 }), false) })).rejects.toMatchObject({ code: 'BACKUP_INVALID', message: expect.stringMatching(/checksum/) });
    const damaged = await copy((m) => ({ ...m, stores: { ...m.stores, tasks: { ...m.stores.tasks!, sha256: '0'.repeat(64) } } }));
    await expect(restoreBackup({ dataDir: data, from: damaged })).rejects.toMatchObject({ code: 'BACKUP_INVALID', message: expect.stringMatching(/differs from its manifest/) });
    expect(await treeOf(data)).toEqual(before);
  });

  it('without --from, passes over a newest backup that no longer verifies for the next newest, and says so', async () => {
    const data = await tempData();
    const h = await openHub(data);
    await populate(h);
    const older = (await h.inject('POST', '/v1/backups')).json() as BackupEntry;
    await h.store.createMany([spec('only in the newer backup')], 'admin');
    const newer = (await h.inject('POST', '/v1/backups')).json() as BackupEntry;
    await h.close();
    // Bit rot in the newer one: its store no longer hashes as its (intact) manifest says.
    const m = structuredClone(newer.manifest);
    m.stores.tasks!.sha256 = 'f'.repeat(64);
    m.checksum = checksumOf(m);
    await writeFile(join(newer.dir, 'manifest.json'), JSON.stringify(m));
    await expect(restoreBackup({ dataDir: data, from: newer.dir })).rejects.toMatchObject({ code: 'BACKUP_INVALID' });
    const report = await restoreBackup({ dataDir: data });
    expect(report.from).toBe(older.dir);
    expect(report.skipped).toEqual([{ dir: newer.dir, code: 'BACKUP_INVALID', message: expect.stringMatching(/differs from its manifest/) }]);
    expect(report.lines.join('\n')).toMatch(/SKIPPED a newer backup that does not verify/);
    expect(await dumpStore(join(data, 'tasks'))).toEqual(await dumpStore(join(older.dir, 'tasks')));
  });

  it('refuses while a hub runs on the folder (STORE_LOCKED), changing nothing', async () => {
    const data = await tempData();
    const h = await openHub(data);
    await populate(h);
    await h.inject('POST', '/v1/backups');
    const before = await treeOf(join(data, 'backups'));
    const refused = await restoreBackup({ dataDir: data }).catch((err: Error) => err);
    expect(refused).toMatchObject({ code: 'STORE_LOCKED', message: expect.stringMatching(/stop it first/) });
    // Refused before copying the backup in: seen in /proc/locks (Linux), not by opening the store.
    expect((refused as Error).cause).toBeUndefined();
    expect(await treeOf(join(data, 'backups'))).toEqual(before);
    expect((await readdir(data)).filter((n) => n.startsWith('damaged-') || n.startsWith('.restore-'))).toEqual([]);
    expect((await h.store.list({ limit: 1000 })).items).toHaveLength(30);
  });

  it('restores a data folder whose stores are gone, saying every change after the backup is lost', async () => {
    const data = await tempData();
    const h = await openHub(data);
    await populate(h);
    await h.inject('POST', '/v1/backups');
    await h.close();
    await rm(join(data, 'tasks'), { recursive: true });
    const report = await restoreBackup({ dataDir: data });
    expect(report.lost.readable).toBe(false);
    expect(report.lines.join('\n')).toMatch(/GONE: every change after .* could not be read/);
    expect(await dumpStore(join(data, 'tasks'))).toHaveLength((await dumpStore(join(report.from, 'tasks'))).length);
  });
});

describe('backup into a full disk', () => {
  it('fails with BACKUP_FAILED (ENOSPC), keeps nothing half-written, keeps the earlier backup, and the hub keeps serving', async () => {
    const data = await tempData();
    const backups = join(data, 'backups');
    await mkdir(backups);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', backups], { stdio: 'pipe' });
    } catch (err) {
      throw new Error(`this test needs a small tmpfs at ${backups} (tests run as root): mount failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? (err as Error).message}`);
    }
    const h = await openHub(data);
    try {
    await populate(h);
    const first = await h.inject('POST', '/v1/backups');
    expect(first.statusCode, first.body).toBe(201);
    // Then more data than the tmpfs holds.
    const big = 'x'.repeat(4000);
    for (let i = 0; i < 4; i++) await h.store.createMany(Array.from({ length: 250 }, (_, j) => spec(`big ${i}-${j}`, { description: big })), 'admin');
    const failed = await h.inject('POST', '/v1/backups');
    expect(failed.statusCode, failed.body).toBe(503);
    expect(failed.json()).toMatchObject({ code: 'BACKUP_FAILED', retryable: true, message: expect.stringMatching(/no space left/) });
    expect(await readdir(backups)).toEqual([(first.json() as BackupEntry).dir.split('/').at(-1)]);
    const kept = await listBackups(data);
    expect(kept).toHaveLength(1);
    await verifyBackup(kept[0]!.dir, kept[0]!.manifest);
    const health = (await h.inject('GET', '/v1/health')).json() as { status: string; backups: { last: { ok: boolean; error: { code: string } } } };
    expect(health.status).toBe('ok');
    expect(health.backups.last).toMatchObject({ ok: false, error: { code: 'BACKUP_FAILED' } });
    expect((await h.inject('POST', '/v1/tasks', spec('still serving'))).statusCode).toBe(201);
    } finally {
      await h.close();
      execFileSync('umount', [backups]);
    }
  });
});

// takeBackup is the same code the REST route runs; a direct call with no sources is a clear error.
describe('takeBackup', () => {
  it('says which store gave no snapshot', async () => {
    const data = await tempData();
    await expect(takeBackup({ dataDir: data, sources: {} })).rejects.toMatchObject({ code: 'BACKUP_FAILED', message: expect.stringMatching(/no snapshot of its 'tasks' store/) });
    expect(await readdir(join(data, 'backups'))).toEqual([]);
  });
});
