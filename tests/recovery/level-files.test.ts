/**
 * The file-format check (hub/recovery/level-files.ts) on real LevelDB folders: sound ones pass,
 * each kind of damage is found and named by its file, and a torn log tail is a note, not damage.
 */
import { cp, readdir, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32c } from '../../hub/recovery/crc32c.js';
import { checkLevelFiles } from '../../hub/recovery/level-files.js';
import { openLevelKv } from '../../hub/store/level-kv.js';
import { makeTempDir, removeDir } from '../support/queue-store.js';

let root: string;
/** A store whose 1,000 records are all in its write-ahead log. */
let logOnly: string;
/** The same, opened and closed once more: LevelDB moved the log into a table file. */
let withTable: string;

async function fill(dir: string): Promise<void> {
  const kv = await openLevelKv(dir);
  for (let i = 0; i < 1000; i += 10) {
    const ops = Array.from({ length: 10 }, (_, j) => ({ type: 'put' as const, key: `t!${String(i + j).padStart(6, '0')}`, value: JSON.stringify({ i: i + j, title: `task ${i + j}`, pad: 'x'.repeat(200) }) }));
    await kv.write(ops, true);
  }
  await kv.close();
}

beforeAll(async () => {
  root = await makeTempDir('sy-files-');
  logOnly = join(root, 'log-only');
  withTable = join(root, 'with-table');
  await fill(logOnly);
  await cp(logOnly, withTable, { recursive: true });
  await (await openLevelKv(withTable)).close();
});
afterAll(() => removeDir(root));

async function damaged(from: string, name: string, damage: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(root, name);
  await cp(from, dir, { recursive: true });
  await damage(dir);
  return dir;
}
const fileOf = async (dir: string, re: RegExp) => join(dir, (await readdir(dir)).find((f) => re.test(f))!);
async function garble(path: string, at: number, n: number): Promise<void> {
  const buf = await readFile(path);
  const start = Math.floor(buf.length * at);
  for (let i = start; i < start + n && i < buf.length; i++) buf[i] = buf[i]! ^ 0x5a;
  await writeFile(path, buf);
}

describe('checkLevelFiles', () => {
  it('passes sound stores, with a log and with a table file', async () => {
    expect(await readdir(withTable)).toEqual(expect.arrayContaining([expect.stringMatching(/\.ldb$/)]));
    for (const dir of [logOnly, withTable]) {
      const r = await checkLevelFiles(dir);
      expect(r.problems).toEqual([]);
      expect(r.notes).toEqual([]);
    }
  });

  it('names a missing or garbled CURRENT, and a garbled MANIFEST', async () => {
    const noCurrent = await damaged(withTable, 'no-current', (d) => unlink(join(d, 'CURRENT')));
    expect((await checkLevelFiles(noCurrent)).problems).toEqual([{ file: join(noCurrent, 'CURRENT'), problem: expect.stringContaining('missing') }]);
    const badCurrent = await damaged(withTable, 'bad-current', (d) => writeFile(join(d, 'CURRENT'), 'MANIF\u0000ST-0004'));
    expect((await checkLevelFiles(badCurrent)).problems).toEqual([{ file: join(badCurrent, 'CURRENT'), problem: expect.stringContaining('garbled') }]);
    const badManifest = await damaged(withTable, 'bad-manifest', async (d) => garble(await fileOf(d, /^MANIFEST-/), 0.3, 8));
    expect((await checkLevelFiles(badManifest)).problems).toEqual([{ file: await fileOf(badManifest, /^MANIFEST-/), problem: expect.stringContaining('checksum') }]);
  });

  it('names a truncated table file, and one with garbled bytes, even a single flipped bit', async () => {
    const cut = await damaged(withTable, 'table-cut', async (d) => {
      const f = await fileOf(d, /\.ldb$/);
      await truncate(f, Math.floor((await stat(f)).size * 0.6));
    });
    expect((await checkLevelFiles(cut)).problems).toEqual([{ file: await fileOf(cut, /\.ldb$/), problem: expect.stringMatching(/is \d+ bytes, but the MANIFEST says \d+ \(truncated\?\)/) }]);
    // Without the MANIFEST to say its size, the footer tells.
    await unlink(join(cut, 'CURRENT'));
    expect((await checkLevelFiles(cut)).problems).toContainEqual({ file: await fileOf(cut, /\.ldb$/), problem: expect.stringContaining('does not end in a table footer') });
    const garbled = await damaged(withTable, 'table-garbled', async (d) => garble(await fileOf(d, /\.ldb$/), 0.4, 64));
    expect((await checkLevelFiles(garbled)).problems).toEqual([{ file: await fileOf(garbled, /\.ldb$/), problem: expect.stringMatching(/data block at offset \d+ fails its checksum/) }]);
    const bit = await damaged(withTable, 'table-bit', async (d) => {
      const f = await fileOf(d, /\.ldb$/);
      const buf = await readFile(f);
      const at = Math.floor(buf.length * 0.3);
      buf[at] = buf[at]! ^ 0x01;
      await writeFile(f, buf);
    });
    expect((await checkLevelFiles(bit)).problems).toEqual([{ file: await fileOf(bit, /\.ldb$/), problem: expect.stringContaining('checksum') }]);
  });

  it('names a table the MANIFEST lists that is gone, and passes over files LevelDB is done with', async () => {
    const gone = await damaged(withTable, 'table-gone', async (d) => unlink(await fileOf(d, /\.ldb$/)));
    expect((await checkLevelFiles(gone)).problems).toEqual([{ file: expect.stringMatching(/\d{6}\.ldb$/), problem: expect.stringContaining('is missing: the MANIFEST lists it') }]);
    // A compaction's half-written output, not yet in the MANIFEST; an old, replayed log.
    const leftovers = await damaged(withTable, 'leftovers', async (d) => {
      await writeFile(join(d, '000900.ldb'), Buffer.alloc(100, 7));
      await writeFile(join(d, '000001.log'), Buffer.alloc(100, 7));
    });
    const r = await checkLevelFiles(leftovers);
    expect(r.problems).toEqual([]);
    expect(r.notes).toEqual([expect.stringContaining('000900.ldb is not in the MANIFEST')]);
  });

  it('names a log garbled in the middle, and notes a torn tail without calling it damage', async () => {
    const garbled = await damaged(logOnly, 'log-garbled', async (d) => garble(await fileOf(d, /\.log$/), 0.5, 64));
    expect((await checkLevelFiles(garbled)).problems).toEqual([{ file: await fileOf(garbled, /\.log$/), problem: expect.stringContaining('checksum') }]);
    const torn = await damaged(logOnly, 'log-torn', async (d) => {
      const f = await fileOf(d, /\.log$/);
      await truncate(f, (await stat(f)).size - 100);
    });
    const r = await checkLevelFiles(torn);
    expect(r.problems).toEqual([]);
    expect(r.notes).toEqual([expect.stringContaining('torn record')]);
  });
});

describe('crc32c', () => {
  it('gives the standard check value and agrees with itself at every length and offset', () => {
    // The CRC-32C check value (RFC 3720, and LevelDB's crc32c_test: "123456789").
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    // 32 zero bytes: LevelDB's crc32c_test.
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 37 + 11) & 0xff);
    for (let cut = 0; cut <= 100; cut += 7) expect(crc32c(data, cut, 100, crc32c(data, 0, cut))).toBe(crc32c(data));
  });
});
