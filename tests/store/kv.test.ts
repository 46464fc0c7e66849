/**
 * The Kv contract (hub/store/kv.ts) that the task store relies on, checked against both
 * implementations alike: LevelDB (level-kv.ts) and memory (memory-kv.ts). Ranges and their
 * bounds, reverse and limit, chunks, atomic batches, and iterators that read a snapshot.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { prefixRange, type Kv } from '../../hub/store/kv.js';
import { openLevelKv } from '../../hub/store/level-kv.js';
import { MemoryKv } from '../../hub/store/memory-kv.js';
import { makeTempDir, removeDir } from '../support/queue-store.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const KVS: Record<string, () => Promise<Kv>> = {
  level: async () => {
    const dir = await makeTempDir('sy-kv-');
    const kv = await openLevelKv(dir);
    cleanups.push(async () => {
      await kv.close().catch(() => undefined);
      await removeDir(dir);
    });
    return kv;
  },
  memory: async () => new MemoryKv(),
};

async function all<T>(gen: AsyncGenerator<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const chunk of gen) out.push(...chunk);
  return out;
}

for (const [name, open] of Object.entries(KVS)) {
  describe(`Kv: ${name}`, () => {
    async function filled(): Promise<Kv> {
      const kv = await open();
      await kv.write(['a!1', 'a!2', 'a!3', 'b!1', 'b!2', 'c'].map((key) => ({ type: 'put' as const, key, value: `v${key}` })), true);
      return kv;
    }

    it('gets, and gets many (missing keys are undefined)', async () => {
      const kv = await filled();
      expect(await kv.get('a!2')).toBe('va!2');
      expect(await kv.get('a!9')).toBeUndefined();
      expect(await kv.getMany(['c', 'nope', 'b!1'])).toEqual(['vc', undefined, 'vb!1']);
    });

    it('reads ranges in key order, with every kind of bound', async () => {
      const kv = await filled();
      expect(await all(kv.keys(prefixRange('a!')))).toEqual(['a!1', 'a!2', 'a!3']);
      expect(await all(kv.keys({ gt: 'a!1', lte: 'b!1' }))).toEqual(['a!2', 'a!3', 'b!1']);
      expect(await all(kv.keys({ gte: 'b!', lt: 'c' }))).toEqual(['b!1', 'b!2']);
      expect(await all(kv.keys({}))).toEqual(['a!1', 'a!2', 'a!3', 'b!1', 'b!2', 'c']);
      expect(await all(kv.entries({ gte: 'b!2' }))).toEqual([
        ['b!2', 'vb!2'],
        ['c', 'vc'],
      ]);
      expect(await all(kv.keys({ gt: 'z' }))).toEqual([]);
    });

    it('reverse and limit: the last keys of a range, newest first', async () => {
      const kv = await filled();
      expect(await all(kv.keys({ ...prefixRange('a!'), reverse: true }))).toEqual(['a!3', 'a!2', 'a!1']);
      expect(await all(kv.keys({ ...prefixRange('a!'), reverse: true, limit: 1 }))).toEqual(['a!3']);
      expect(await all(kv.keys({ ...prefixRange('a!'), limit: 2 }))).toEqual(['a!1', 'a!2']);
      expect(await all(kv.entries({ limit: 1 }))).toEqual([['a!1', 'va!1']]);
    });

    it('yields chunks of at most the size asked for', async () => {
      const kv = await filled();
      const chunks: string[][] = [];
      for await (const chunk of kv.keys({}, 4)) chunks.push(chunk);
      expect(chunks).toEqual([
        ['a!1', 'a!2', 'a!3', 'b!1'],
        ['b!2', 'c'],
      ]);
    });

    it('a batch puts and deletes together; a delete of a missing key is harmless', async () => {
      const kv = await filled();
      await kv.write(
        [
          { type: 'del', key: 'a!1' },
          { type: 'put', key: 'a!0', value: 'new' },
          { type: 'put', key: 'a!2', value: 'changed' },
          { type: 'del', key: 'nope' },
        ],
        true,
      );
      expect(await all(kv.entries(prefixRange('a!')))).toEqual([
        ['a!0', 'new'],
        ['a!2', 'changed'],
        ['a!3', 'va!3'],
      ]);
    });

    it('an iterator reads the store as it was when it started', async () => {
      const kv = await filled();
      const it = kv.entries({}, 2);
      const first = await it.next();
      expect(first.value).toEqual([
        ['a!1', 'va!1'],
        ['a!2', 'va!2'],
      ]);
      await kv.write(
        [
          { type: 'del', key: 'b!1' },
          { type: 'put', key: 'a!3', value: 'later' },
          { type: 'put', key: 'b!0', value: 'later' },
        ],
        true,
      );
      const rest: Array<[string, string]> = [];
      for (let r = await it.next(); !r.done; r = await it.next()) rest.push(...r.value);
      expect(rest).toEqual([
        ['a!3', 'va!3'],
        ['b!1', 'vb!1'],
        ['b!2', 'vb!2'],
        ['c', 'vc'],
      ]);
      expect(await kv.get('a!3')).toBe('later');
    });

    it('refuses work after close', async () => {
      const kv = await open();
      await kv.close();
      await expect(kv.get('a')).rejects.toThrow();
      await expect(kv.write([{ type: 'put', key: 'a', value: '1' }], true)).rejects.toThrow();
    });
  });
}

describe('MemoryKv', () => {
  it('refuses a batch with an invalid operation whole: nothing of it is applied', async () => {
    const kv = new MemoryKv();
    await expect(
      kv.write(
        [
          { type: 'put', key: 'a', value: '1' },
          { type: 'put', key: 'b', value: undefined as unknown as string },
        ],
        true,
      ),
    ).rejects.toMatchObject({ code: 'STORE_FAILED' });
    expect(kv.size).toBe(0);
  });

  it('reopen gives a new handle on the same contents, as a LevelDB folder after a close', async () => {
    const kv = new MemoryKv();
    await kv.write([{ type: 'put', key: 'k', value: 'v' }], true);
    await kv.close();
    const again = kv.reopen();
    expect(await again.get('k')).toBe('v');
  });
});
