import { describe, expect, test } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SidecarState } from '../../sidecar/state.js';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { heldTask as task } from '../support/held-task.js';
import { tempDir } from '../support/processes.js';

describe('sidecar local state', () => {
  test('survives a restart: what was set is what a new instance loads', async () => {
    const dir = tempDir('state');
    const a = new SidecarState(dir);
    await a.load();
    await a.set('t1', { task: task('t1'), generation: 1, state: 'running' });
    await a.set('t2', { task: task('t2'), generation: 3, state: 'assigned' });
    await a.set('t1', { task: task('t1'), generation: 1, state: 'finished', result: { type: 'task.complete', id: 'm1', task_id: 't1', generation: 1, result: { ok: true } } });
    await a.set('t2', null);
    const b = new SidecarState(dir);
    await b.load();
    expect(b.all()).toEqual([{ task: task('t1'), generation: 1, state: 'finished', result: { type: 'task.complete', id: 'm1', task_id: 't1', generation: 1, result: { ok: true } } }]);
  });

  test('concurrent changes all land, and the file ends with the latest state', async () => {
    const dir = tempDir('state');
    const s = new SidecarState(dir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.set(`t${i}`, { task: task(`t${i}`), generation: 1, state: 'running' })));
    const file = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { tasks: Record<string, unknown> };
    expect(Object.keys(file.tasks)).toHaveLength(20);
    // No temp files are left behind.
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  test('atomic write replaces the whole file and leaves no temp file', async () => {
    const dir = tempDir('atomic');
    const path = join(dir, 'f.json');
    await writeFileAtomic(path, 'a'.repeat(100_000));
    await writeFileAtomic(path, 'short');
    expect(readFileSync(path, 'utf8')).toBe('short');
    expect(readdirSync(dir)).toEqual(['f.json']);
  });
});
