/**
 * The two pieces a backup stands on: `Kv.snapshot()` (both backends: LevelDB and the in-memory
 * one) sees the store as it was, whatever is written after; and a restore stopped between its
 * moves is finished at the next start, from its written plan.
 */
import { cp, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backupStoppedHub, prepareDataDir } from '../../hub/backup/index.js';
import type { Kv } from '../../hub/store/kv.js';
import { openLevelKv } from '../../hub/store/level-kv.js';
import { MemoryKv } from '../../hub/store/memory-kv.js';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import { openAgentStore } from '../../hub/store/agent-store.js';
import { spec } from '../support/queue-store.js';
import { dumpStore } from './support.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function temp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sy-snap-'));
  dirs.push(d);
  return d;
}

async function all(it: AsyncGenerator<Array<[string, string]>>): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for await (const chunk of it) out.push(...chunk);
  return out;
}

describe.each([
  ['LevelDB', async (): Promise<Kv> => openLevelKv(await temp())],
  ['memory', async (): Promise<Kv> => new MemoryKv()],
])('Kv.snapshot() on %s', (_name, open) => {
  it('reads the store as it was when taken, in chunks, however it changes after', async () => {
    const kv = await open();
    await kv.write([{ type: 'put', key: 'a', value: '1' }, { type: 'put', key: 'b', value: '2' }, { type: 'put', key: 'c', value: '3' }], true);
    const snap = kv.snapshot();
    await kv.write([{ type: 'del', key: 'a' }, { type: 'put', key: 'b', value: 'changed' }, { type: 'put', key: 'd', value: '4' }], true);
    expect(await all(snap.entries({}, 2))).toEqual([['a', '1'], ['b', '2'], ['c', '3']]);
    expect(await all(snap.entries({ gte: 'b' }))).toEqual([['b', '2'], ['c', '3']]);
    await snap.close();
    expect(await all(kv.entries({}))).toEqual([['b', 'changed'], ['c', '3'], ['d', '4']]);
    await kv.close();
  });
});

describe('a restore stopped between its moves', () => {
  it('is finished at the next start from its plan: the backup in place, the replaced stores aside, nothing lost', async () => {
    const data = await temp();
    const store = await openTaskStore(join(data, 'tasks'));
    await store.createMany([spec('in the backup')], 'admin');
    await store.close();
    await (await openAgentStore(join(data, 'agents'))).close();
    const { dir } = await backupStoppedHub({ dataDir: data });
    const again = await openTaskStore(join(data, 'tasks'));
    await again.createMany([spec('after the backup')], 'admin');
    await again.close();
    const liveTasks = await dumpStore(join(data, 'tasks'));
    const liveAgents = await dumpStore(join(data, 'agents'));

    // What restoreBackup leaves when it dies after its first move: the plan, the staged copy
    // (verified), the live task store moved aside, the live agent store still in place.
    const staging = join(data, '.restore-2026-01-01T00-00-00.000Z');
    const damaged = join(data, 'damaged-2026-01-01T00-00-00.000Z');
    await cp(join(dir, 'tasks'), join(staging, 'tasks'), { recursive: true });
    await cp(join(dir, 'agents'), join(staging, 'agents'), { recursive: true });
    await writeFile(join(data, 'restore.json'), JSON.stringify({ staging, damaged, files: [] }));
    await mkdir(damaged);
    await rename(join(data, 'tasks'), join(damaged, 'tasks'));

    await prepareDataDir(data);
    expect(await dumpStore(join(data, 'tasks'))).toEqual(await dumpStore(join(dir, 'tasks')));
    expect(await dumpStore(join(data, 'agents'))).toEqual(await dumpStore(join(dir, 'agents')));
    expect(await dumpStore(join(damaged, 'tasks'))).toEqual(liveTasks);
    expect(await dumpStore(join(damaged, 'agents'))).toEqual(liveAgents);
    const names = await readdir(data);
    expect(names).not.toContain('restore.json');
    expect(names.filter((n) => n.startsWith('.restore-'))).toEqual([]);
  });
});
