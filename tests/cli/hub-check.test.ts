/**
 * `switchyard hub check` as an operator runs it (the compiled CLI, a child process) on a stopped
 * hub's data folder: it reports the store as the hub left it and changes no key of it, even where
 * opening the store for work would (an expired lease swept, an old format migrated).
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { K } from '../../hub/store/keys.js';
import { openLevelKv } from '../../hub/store/level-kv.js';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import { rawContents } from '../support/level-raw.js';
import { makeTempDir, removeDir } from '../support/queue-store.js';

const CLI = join(resolve(import.meta.dirname, '../..'), 'dist/cli/switchyard.js');

function check(dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('SWITCHYARD_')) delete env[k];
  return new Promise((done) => {
    execFile(process.execPath, [CLI, 'hub', 'check', '--data', dataDir], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

let dataDir: string;
let tasksDir: string;
beforeEach(async () => {
  dataDir = await makeTempDir('sy-check-');
  tasksDir = join(dataDir, 'tasks');
  // Ten minutes ago, a hub leased and started a task, then stopped: its 60 s lease has expired.
  const tenMinutesAgo = () => Date.now() - 600_000;
  const store = await openTaskStore(tasksDir, { now: tenMinutesAgo, autoSweep: false });
  await store.createMany([{ title: 'running' }, { title: 'queued' }], 'test');
  const leased = (await store.leaseNext({ agentId: 'a1', capabilities: [] }))!;
  await store.accept(leased.id, leased.generation, 'a1');
  await store.close();
});
afterEach(async () => {
  await removeDir(dataDir);
});

describe('switchyard hub check', () => {
  it('checks without sweeping: the expired lease is still there, and no key changed', async () => {
    const before = await rawContents(tasksDir);
    const r = await check(dataDir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('ok: 2 tasks; queued {"urgent":0,"high":0,"normal":1,"low":0}');
    expect(await rawContents(tasksDir)).toEqual(before);
    const running = JSON.parse(before.find(([k, v]) => k.startsWith(K.taskPrefix) && v.includes('"status":"running"'))![1]);
    expect(running.lease.expires_at).toBeLessThan(Date.now());
  });

  it('reports a store that needs migration as such, and does not migrate it', async () => {
    const kv = await openLevelKv(tasksDir);
    await kv.write([{ type: 'put', key: K.version, value: '2' }], true);
    await kv.close();
    const before = await rawContents(tasksDir);
    const r = await check(dataDir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^NEEDS MIGRATION: the store is in format 2; this version uses format 5/);
    expect(await rawContents(tasksDir)).toEqual(before);
  });
});
