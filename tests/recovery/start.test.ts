/**
 * A hub starting on a damaged data folder (startHub in the test process, real LevelDB): each kind
 * of damage the issue names is found at start with its file named, handled by --on-corruption,
 * reported (log, /v1/health, the store.recovered bus event), and no acknowledged task from before
 * the newest backup is lost. Nothing is ever deleted: a replaced store is moved aside.
 */
import { readdir, stat, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RunningHub } from '../../hub/app.js';
import { EventBus } from '../../hub/service/bus.js';
import { K } from '../../hub/store/keys.js';
import { openLevelKv } from '../../hub/store/level-kv.js';
import { SwitchyardError } from '../../shared/errors.js';
import { makeTempDir, removeDir } from '../support/queue-store.js';
import { loadHubConfig } from '../../hub/config.js';
import { ADMIN, addTasks, allTaskIds, fileOf, garble, health, populate, restoreFromBackups, startOn, takeBackup, truncateTo } from './fixture.js';

let dataDir: string;
let tasksDir: string;
const open: RunningHub[] = [];
beforeEach(async () => {
  dataDir = await makeTempDir('sy-recovery-');
  tasksDir = join(dataDir, 'tasks');
});
afterEach(async () => {
  for (const hub of open.splice(0)) await hub.close();
  await removeDir(dataDir);
});
const track = <T extends { hub: RunningHub }>(s: T) => {
  open.push(s.hub);
  return s;
};
const exists = (p: string) => stat(p).then(() => true, () => false);
async function refusal(p: Promise<unknown>): Promise<SwitchyardError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(SwitchyardError);
  expect((err as SwitchyardError).code).toBe('STORE_CORRUPT');
  return err as SwitchyardError;
}

describe('a new data folder', () => {
  it('gets its stores, the creation marker and a watermark; a clean restart finds nothing to recover', async () => {
    const { hub } = await startOn(dataDir);
    await addTasks(hub, 10);
    await hub.close();
    expect(await exists(join(dataDir, 'store.json'))).toBe(true);
    expect(await exists(join(dataDir, 'watermark.json'))).toBe(true);
    const again = track(await startOn(dataDir));
    expect((await health(again.hub)).recovery).toBeNull();
    expect((await allTaskIds(again.hub)).size).toBe(10);
  });
});

describe('the agent store', () => {
  it('is checked too: its deleted CURRENT is repaired, and the registered agent is still there', async () => {
    const { hub } = await startOn(dataDir);
    const res = await hub.app.inject({ method: 'POST', url: '/v1/agents', headers: { authorization: `Bearer ${ADMIN}` }, payload: { id: 'builder-1' } });
    expect(res.statusCode).toBe(201);
    await hub.close();
    await (await startOn(dataDir)).hub.close();
    await unlink(join(dataDir, 'agents', 'CURRENT'));
    const again = track(await startOn(dataDir));
    const list = await again.hub.app.inject({ method: 'GET', url: '/v1/agents', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(list.body).toContain('builder-1');
    expect((await health(again.hub)).recovery).toMatchObject({ action: 'repaired', problems: [{ store: 'agents', file: 'agents/CURRENT' }] });
  });
});

describe('the policy setting', () => {
  it('takes restore, repair or refuse, from the flag or SWITCHYARD_ON_CORRUPTION, default restore; anything else is refused', () => {
    expect(loadHubConfig({}, {}).onCorruption).toBe('restore');
    expect(loadHubConfig({}, { SWITCHYARD_ON_CORRUPTION: 'refuse' }).onCorruption).toBe('refuse');
    expect(loadHubConfig({ onCorruption: 'repair' }, { SWITCHYARD_ON_CORRUPTION: 'refuse' }).onCorruption).toBe('repair');
    expect(() => loadHubConfig({ onCorruption: 'ignore' }, {})).toThrow(/onCorruption|on-corruption/);
  });
});

describe('a data folder a running hub has open', () => {
  it('is never repaired or moved by a second hub, even where a file looks damaged (a table being written): STORE_LOCKED', async () => {
    const { hub } = track(await startOn(dataDir));
    await addTasks(hub, 10);
    const { writeFile } = await import('node:fs/promises');
    // What a compaction's half-written table looks like to the file check.
    await writeFile(join(tasksDir, '000999.ldb'), Buffer.alloc(100, 7));
    // (LevelDB rotates its own LOG file even when it finds the lock taken.)
    const dataFiles = async () => (await readdir(tasksDir)).filter((f) => !f.startsWith('LOG')).sort();
    const before = await dataFiles();
    const err = await startOn(dataDir).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SwitchyardError);
    expect((err as SwitchyardError).code).toBe('STORE_LOCKED');
    expect(await dataFiles()).toEqual(before);
    expect((await readdir(dataDir)).filter((f) => /^(damaged|repair)-/.test(f))).toEqual([]);
    expect((await allTaskIds(hub)).size).toBe(10);
  });
});

describe('a deleted tasks/CURRENT (the adversarial finding: it started as an empty store)', () => {
  it('is found and repaired on a copy: all 1,000 tasks are back, the damaged store is moved aside, health says so', async () => {
    const ids = await populate(dataDir, 1000, true);
    const table = await fileOf(tasksDir, /\.ldb$/);
    await unlink(join(tasksDir, 'CURRENT'));
    // startHub emits store.recovered before it returns the hub (for the features, which subscribe
    // as the hub is built): watch the bus's emit to see it.
    const emit = vi.spyOn(EventBus.prototype, 'emit');
    const { hub, logs } = track(await startOn(dataDir));
    const recovered = emit.mock.calls.filter(([type]) => type === 'store.recovered').map(([, event]) => event);
    emit.mockRestore();
    expect(await allTaskIds(hub)).toEqual(new Set(ids));
    const h = await health(hub);
    expect(h.recovery).toMatchObject({ action: 'repaired', problem: expect.stringMatching(/^tasks\/CURRENT is missing/), lost: null });
    // /v1/health is public: it names files inside the data folder, not where the folder is.
    expect(JSON.stringify(h.recovery)).not.toContain(dataDir);
    const aside = join(dataDir, h.recovery!.moved_aside as string);
    // The damaged original, table file and all, is kept.
    expect(await readdir(join(aside, 'tasks'))).toContain(table.split('/').at(-1));
    expect(logs.join('')).toContain(`store damaged: ${join(tasksDir, 'CURRENT')} is missing`);
    expect((await hub.store.verifyIntegrity()).ok).toBe(true);
    expect(recovered).toEqual([h.recovery]);
  });

  it('is refused with --on-corruption refuse, naming the file and the commands, and nothing is changed', async () => {
    await populate(dataDir, 100, true);
    await unlink(join(tasksDir, 'CURRENT'));
    const before = (await readdir(tasksDir)).sort();
    const err = await refusal(startOn(dataDir, { policy: 'refuse' }));
    expect(err.message).toContain(`${join(tasksDir, 'CURRENT')} is missing`);
    expect(err.message).toContain('switchyard hub check');
    expect(err.message).toContain('switchyard hub restore');
    expect((await readdir(tasksDir)).sort()).toEqual(before);
  });

  it('is damage in a folder from before the marker too (an upgrade): a store folder with LevelDB files is never new', async () => {
    await populate(dataDir, 100, true);
    await unlink(join(dataDir, 'store.json'));
    await unlink(join(tasksDir, 'CURRENT'));
    const err = await refusal(startOn(dataDir, { policy: 'refuse' }));
    expect(err.message).toContain('CURRENT is missing');
  });

  it('a whole store folder gone is damage once the marker exists, and is restored from the backup', async () => {
    const ids = await populate(dataDir, 200, false);
    await takeBackup(dataDir);
    const { rm } = await import('node:fs/promises');
    await rm(tasksDir, { recursive: true });
    await refusal(startOn(dataDir, { policy: 'repair' }));
    const restore = restoreFromBackups();
    const { hub } = track(await startOn(dataDir, { restore }));
    expect(restore.calls).toBe(1);
    expect(await allTaskIds(hub)).toEqual(new Set(ids));
    expect((await health(hub)).recovery).toMatchObject({ action: 'restored', problem: expect.stringContaining('is missing') });
  });
});

describe('a truncated or garbled write-ahead log (the adversarial finding: acknowledged tasks lost, check ok)', () => {
  it('truncated: the store is behind the watermark; without a backup the default refuses, saying there is no verified backup', async () => {
    await populate(dataDir, 1000, false);
    await truncateTo(await fileOf(tasksDir, /\.log$/), 0.9);
    const err = await refusal(startOn(dataDir));
    expect(err.message).toMatch(/the store lost acknowledged writes: its newest event is \S+ .* but the hub acknowledged up to event \S+/);
    expect(err.message).toContain('no verified backup');
  });

  it('truncated, with a backup holding more than survived: the backup is restored, every task of it back', async () => {
    const ids = await populate(dataDir, 1000, false);
    await takeBackup(dataDir);
    await truncateTo(await fileOf(tasksDir, /\.log$/), 0.5);
    const restore = restoreFromBackups();
    const { hub } = track(await startOn(dataDir, { restore }));
    expect(restore.calls).toBe(1);
    expect(await allTaskIds(hub)).toEqual(new Set(ids));
    const h = await health(hub);
    expect(h.recovery).toMatchObject({ action: 'restored', backup: expect.stringMatching(/^backups\//), lost: null });
    expect(h.recovery!.problem).toContain('lost acknowledged writes');
  });

  it('truncated, where the store still holds more than the backup: it is kept (never replaced by less), the loss reported', async () => {
    const before = await populate(dataDir, 1000, false);
    await takeBackup(dataDir);
    const { hub: h1 } = await startOn(dataDir);
    // LevelDB moved the first 1,000 into a table as it opened: the log holds only these.
    const after = await addTasks(h1, 50, 'after the backup');
    await h1.close();
    await truncateTo(await fileOf(tasksDir, /\.log$/), 0.5);
    const restore = restoreFromBackups();
    const { hub } = track(await startOn(dataDir, { restore }));
    expect(restore.calls).toBe(0);
    const ids = await allTaskIds(hub);
    for (const id of before) expect(ids.has(id), id).toBe(true);
    expect(ids.size).toBeLessThan(1050);
    const h = await health(hub);
    expect(h.recovery).toMatchObject({ action: 'kept', moved_aside: null, lost: { acknowledged_task: after.at(-1), newest_task: [...ids].sort().at(-1) } });
  });

  it('truncated, with --on-corruption repair: the store is kept and the loss reported, and the next start is clean', async () => {
    const ids = await populate(dataDir, 1000, false);
    await truncateTo(await fileOf(tasksDir, /\.log$/), 0.9);
    const { hub } = await startOn(dataDir, { policy: 'repair' });
    const kept = await allTaskIds(hub);
    expect(kept.size).toBeLessThan(1000);
    const h = await health(hub);
    expect(h.recovery).toMatchObject({ action: 'kept', lost: { acknowledged_task: ids.at(-1), newest_task: [...kept].sort().at(-1) } });
    await hub.close();
    // The watermark now describes the store as it is: no second report.
    const again = track(await startOn(dataDir, { policy: 'refuse' }));
    expect((await health(again.hub)).recovery).toBeNull();
  });

  it('garbled: the log is named before LevelDB deletes it, the repaired copy refused, and the backup restored', async () => {
    const before = await populate(dataDir, 1000, false);
    await takeBackup(dataDir);
    const { hub: h1 } = await startOn(dataDir);
    // LevelDB moved the first 1,000 into a table as it opened: the log holds only these.
    const after = await addTasks(h1, 20, 'after the backup');
    await h1.close();
    const log = await fileOf(tasksDir, /\.log$/);
    await garble(log, 0.5, 64, 'x'.repeat(64));
    const restore = restoreFromBackups();
    const { hub, logs } = track(await startOn(dataDir, { restore }));
    const text = logs.join('');
    expect(text).toContain(`store damaged: ${log} the record at offset`);
    // LevelDB's repair replays a log without its checksums: the garbled batch comes back garbled,
    // and the integrity check refuses that copy.
    expect(text).toContain('the repaired copy of the damaged store is not sound');
    expect(restore.calls).toBe(1);
    const ids = await allTaskIds(hub);
    for (const id of before) expect(ids.has(id), id).toBe(true);
    const h = await health(hub);
    expect(h.recovery).toMatchObject({ action: 'restored', problem: expect.stringContaining(relative(dataDir, log)), lost: { acknowledged_task: after.at(-1), backup_at: expect.any(Number) } });
    // The garbled log is kept, as it was.
    expect(await readdir(join(dataDir, h.recovery!.moved_aside as string, 'tasks'))).toContain(log.split('/').at(-1));
    expect((await hub.store.verifyIntegrity()).ok).toBe(true);
  });
});

describe('damaged table files and MANIFEST', () => {
  for (const [name, damage] of [
    ['truncated', (f: string) => truncateTo(f, 0.6)],
    ['garbled', (f: string) => garble(f, 0.4, 64)],
  ] as const) {
    it(`a ${name} table file is named, and the backup restores every task from before it`, async () => {
      const before = await populate(dataDir, 1000, true);
      await takeBackup(dataDir);
      const { hub: h1 } = await startOn(dataDir);
      await addTasks(h1, 20, 'after the backup');
      await h1.close();
      const table = await fileOf(tasksDir, /\.ldb$/);
      await damage(table);
      const err = await refusal(startOn(dataDir, { policy: 'refuse' }));
      expect(err.message).toContain(table);
      const { hub } = track(await startOn(dataDir, { restore: restoreFromBackups() }));
      const ids = await allTaskIds(hub);
      for (const id of before) expect(ids.has(id), id).toBe(true);
      expect((await health(hub)).recovery).toMatchObject({ problem: expect.stringContaining(relative(dataDir, table)) });
      expect((await hub.store.verifyIntegrity()).ok).toBe(true);
    });
  }

  it('a restore that fails puts the damaged store back as it was, and the hub does not start', async () => {
    await populate(dataDir, 300, true);
    const table = await fileOf(tasksDir, /\.ldb$/);
    await truncateTo(table, 0.6);
    const before = (await readdir(tasksDir)).sort();
    const failing = async () => {
      throw new Error('no verified backup in /nowhere');
    };
    const err = await refusal(startOn(dataDir, { restore: failing }));
    expect(err.message).toContain('restoring the newest backup failed: no verified backup in /nowhere');
    expect(err.message).toContain(table);
    expect((await readdir(tasksDir)).sort()).toEqual(before);
    expect((await readdir(dataDir)).filter((f) => f.startsWith('damaged-'))).toEqual([]);
  });

  it('a bad format marker is named; repair cannot mend it, so the backup is restored', async () => {
    const ids = await populate(dataDir, 100, true);
    await takeBackup(dataDir);
    const kv = await openLevelKv(tasksDir);
    await kv.write([{ type: 'put', key: K.version, value: '\u0000garbage' }], true);
    await kv.close();
    const err = await refusal(startOn(dataDir, { policy: 'repair' }));
    expect(err.message).toContain(`${tasksDir} has a bad format marker`);
    const { hub } = track(await startOn(dataDir, { restore: restoreFromBackups() }));
    expect(await allTaskIds(hub)).toEqual(new Set(ids));
    expect((await health(hub)).recovery).toMatchObject({ action: 'restored', problem: expect.stringMatching(/has a bad format marker "\\u0000garbage" \(expected \d+\)$/) });
  });

  it('a garbled MANIFEST is named and repaired (the tables are whole): nothing lost', async () => {
    const ids = await populate(dataDir, 1000, true);
    const manifest = await fileOf(tasksDir, /^MANIFEST-/);
    await garble(manifest, 0.3, 8);
    const { hub } = track(await startOn(dataDir));
    expect(await allTaskIds(hub)).toEqual(new Set(ids));
    expect((await health(hub)).recovery).toMatchObject({ action: 'repaired', problem: expect.stringContaining(relative(dataDir, manifest)), lost: null });
  });

  it('a deleted MANIFEST is named (CURRENT names it) and repaired: nothing lost', async () => {
    const ids = await populate(dataDir, 1000, true);
    const manifest = await fileOf(tasksDir, /^MANIFEST-/);
    await unlink(manifest);
    const { hub } = track(await startOn(dataDir));
    expect(await allTaskIds(hub)).toEqual(new Set(ids));
    expect((await health(hub)).recovery).toMatchObject({ action: 'repaired', problem: expect.stringContaining(`names ${manifest.split('/').at(-1)}, which is missing`) });
  });
});

describe('the default policy with a real backup (hub/backup, not a test double)', () => {
  it('a garbled table file: the hub restores its own newest verified online backup, every task from before it back, tokens working', async () => {
    await populate(dataDir, 500, true);
    const { hub: h1 } = await startOn(dataDir);
    const agent = await h1.app.inject({ method: 'POST', url: '/v1/agents', headers: { authorization: `Bearer ${ADMIN}` }, payload: { id: 'builder-1' } });
    expect(agent.statusCode).toBe(201);
    const before = await allTaskIds(h1);
    // An online backup, taken by the running hub through its REST route.
    const backup = await h1.app.inject({ method: 'POST', url: '/v1/backups', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(backup.statusCode).toBe(201);
    await addTasks(h1, 20, 'after the backup');
    await h1.close();
    const table = await fileOf(tasksDir, /\.ldb$/);
    await garble(table, 0.4, 64);
    // No restore function passed: startHub's own (restoreBackup on the newest verified backup).
    const { hub } = track(await startOn(dataDir));
    const ids = await allTaskIds(hub);
    for (const id of before) expect(ids.has(id), id).toBe(true);
    const h = await health(hub);
    expect(h.recovery).toMatchObject({ action: 'restored', backup: expect.stringMatching(/^backups\//), problem: expect.stringContaining(relative(dataDir, table)) });
    expect((await hub.store.verifyIntegrity()).ok).toBe(true);
    const agents = await hub.app.inject({ method: 'GET', url: '/v1/agents', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(agents.body).toContain('builder-1');
  });
});

describe('a recovery that lost acknowledged writes holds writes for an operator (degraded mode)', () => {
  it('health says degraded, needs_ack; writes get STORE_DEGRADED; reads work; the ack ends it', async () => {
    const ids = await populate(dataDir, 1000, false);
    await truncateTo(await fileOf(tasksDir, /\.log$/), 0.9);
    const { hub } = track(await startOn(dataDir, { policy: 'repair' }));
    const h = await health(hub);
    expect(h.recovery).toMatchObject({ lost: expect.any(Object) });
    expect(h.status).toBe('degraded');
    expect(h.degraded).toMatchObject({ reason: 'restore_lost_data', needs_ack: true });
    const auth = { authorization: `Bearer ${ADMIN}` };
    const refused = await hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: auth, payload: { title: 'while held' } });
    expect(refused.statusCode).toBe(503);
    expect(refused.json().code).toBe('STORE_DEGRADED');
    const read = await hub.app.inject({ method: 'GET', url: `/v1/tasks/${ids[0]}`, headers: auth });
    expect(read.statusCode).toBe(200);
    const ack = await hub.app.inject({ method: 'POST', url: '/v1/health/ack', headers: auth });
    expect(ack.statusCode).toBe(200);
    const created = await hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: auth, payload: { title: 'after the ack' } });
    expect(created.statusCode).toBe(201);
    expect((await health(hub)).degraded).toBeNull();
  });
});
