/**
 * LevelDB only: opening a task store folder (tests that are about the folder itself, so they do
 * not run against the other backends of the conformance suite in tests/queue/).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'vitest';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import { expectCode, makeTempDir, openLevelTestStore, removeDir, type LevelTestStore } from '../support/queue-store.js';

let h: LevelTestStore;
beforeEach(async () => {
  h = await openLevelTestStore();
});
afterEach(async () => {
  await h.dispose();
});

describe('opening a folder', () => {
  it('a second open of the same folder -> STORE_LOCKED', async () => {
    await expectCode(openTaskStore(h.dir, { autoSweep: false }), 'STORE_LOCKED');
  });

  it('a folder that is not a store -> STORE_FAILED', async () => {
    const dir = await makeTempDir();
    try {
      await writeFile(join(dir, 'CURRENT'), 'garbage\n');
      await expectCode(openTaskStore(dir, { autoSweep: false }), 'STORE_FAILED');
    } finally {
      await removeDir(dir);
    }
  });
});
