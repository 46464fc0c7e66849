/**
 * Checks a LevelDB folder's files by their own format, without opening the store: CURRENT names a
 * MANIFEST that exists; the MANIFEST and the live write-ahead logs (`*.log`) hold records whose
 * checksums match; each table file (`*.ldb`, `*.sst`) the MANIFEST lists exists with the size it
 * lists, ends in a valid footer, and every block its index names matches its checksum.
 *
 * Why not let LevelDB find it: classic-level opens with paranoid_checks and verify_checksums off
 * (and exposes neither), so LevelDB drops a garbled log record with only a line in its own LOG,
 * then deletes the log; a flipped bit inside a table block is read back as data (measured: one
 * flipped bit in a 32 KiB table of 1,000 records scanned "clean"); and the errors it does raise
 * name no file. This check runs before the store is opened, while the damaged files are still
 * there, and says which file is damaged and where.
 *
 * A torn tail of a log (a record cut off at the end of the file) is not damage: a crash during a
 * write leaves one, and that write was never acknowledged (writes are acknowledged after fsync).
 * Losing acknowledged writes at the tail is found by the watermark instead (watermark.ts).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c, maskCrc } from './crc32c.js';
import { snappyUncompress } from './snappy.js';
import { readVarint } from './varint.js';

export interface FileProblem {
  /** The damaged file's path. */
  file: string;
  problem: string;
}

export interface FilesReport {
  problems: FileProblem[];
  /** Not damage, but worth a log line: a torn log tail. */
  notes: string[];
  /** Bytes read. */
  bytes: number;
}

const BLOCK = 32768;
const HEADER = 7;
const TABLE_MAGIC = [0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb];
const FOOTER = 48;

/** The LevelDB files that hold data (not LOCK, LOG, LOG.old). */
export const DATA_FILE = /^(CURRENT|MANIFEST-\d+|\d+\.(log|ldb|sst))$/;

export async function checkLevelFiles(dir: string): Promise<FilesReport> {
  const report: FilesReport = { problems: [], notes: [], bytes: 0 };
  const names = await readdir(dir);
  const current = join(dir, 'CURRENT');
  let manifestName: string | null = null;
  if (!names.includes('CURRENT')) {
    report.problems.push({ file: current, problem: 'is missing: it names the MANIFEST, without it LevelDB would see no store' });
  } else {
    const text = await readFile(current, 'utf8');
    const name = text.trimEnd();
    if (!text.endsWith('\n') || !/^MANIFEST-\d+$/.test(name)) {
      report.problems.push({ file: current, problem: `is garbled (${JSON.stringify(text.slice(0, 40))}): it must name a MANIFEST on one line` });
    } else if (!names.includes(name)) {
      report.problems.push({ file: current, problem: `names ${name}, which is missing` });
    } else manifestName = name;
  }
  // The live files, as the MANIFEST CURRENT names lists them: a table or log it does not list is
  // one LevelDB is done with (an interrupted compaction's output, a replayed log) and deletes at
  // its next open; its state is no damage. Without a readable MANIFEST every file is checked.
  let live: LiveFiles | null = null;
  if (manifestName !== null) {
    const path = join(dir, manifestName);
    const buf = await readFile(path);
    report.bytes += buf.length;
    const r = checkLogRecords(buf, true);
    if (r.problem) report.problems.push({ file: path, problem: r.problem });
    else if (r.payloads.length === 0) report.problems.push({ file: path, problem: 'holds no record' });
    else {
      try {
        live = liveFiles(r.payloads);
      } catch (err) {
        report.problems.push({ file: path, problem: `cannot be read as a MANIFEST: ${(err as Error).message}` });
      }
    }
  }
  if (live) {
    for (const [number, size] of live.tables) {
      const base = String(number).padStart(6, '0');
      if (!names.includes(`${base}.ldb`) && !names.includes(`${base}.sst`)) {
        report.problems.push({ file: join(dir, `${base}.ldb`), problem: `is missing: the MANIFEST lists it (${size} bytes)` });
      }
    }
  }
  for (const name of names.sort()) {
    const path = join(dir, name);
    const number = Number(/^(\d+)\./.exec(name)?.[1] ?? NaN);
    if (name.endsWith('.log')) {
      if (live && number < live.logNumber && number !== live.prevLogNumber) continue;
      const buf = await readFile(path);
      report.bytes += buf.length;
      const r = checkLogRecords(buf, false);
      if (r.problem) report.problems.push({ file: path, problem: r.problem });
      else if (r.tornAt !== null) report.notes.push(`${path}: a torn record at offset ${r.tornAt} (an unacknowledged write cut short by a crash)`);
    } else if (/\.(ldb|sst)$/.test(name)) {
      if (live && !live.tables.has(number)) {
        report.notes.push(`${path} is not in the MANIFEST (left by an interrupted compaction); LevelDB deletes it`);
        continue;
      }
      const buf = await readFile(path);
      report.bytes += buf.length;
      const expected = live?.tables.get(number);
      const problem = expected !== undefined && expected !== buf.length ? `is ${buf.length} bytes, but the MANIFEST says ${expected} (truncated?)` : checkTable(buf);
      if (problem) report.problems.push({ file: path, problem });
    }
  }
  return report;
}

interface LiveFiles {
  /** Table number -> size in bytes. */
  tables: Map<number, number>;
  logNumber: number;
  prevLogNumber: number;
}

/**
 * Replays a MANIFEST's version edits (LevelDB's version_edit.cc: tagged fields) into the set of
 * live table files and the oldest live log. Throws on an edit it cannot parse.
 */
function liveFiles(edits: Uint8Array[]): LiveFiles {
  const tables = new Map<number, number>();
  let logNumber = 0;
  let prevLogNumber = 0;
  for (const edit of edits) {
    let p = 0;
    const varint = (): number => {
      let value: number;
      [value, p] = readVarint(edit, p, edit.length, 64, 'a version edit is cut short', 'bad varint');
      return value;
    };
    const skipBytes = () => {
      const n = varint();
      if (p + n > edit.length) throw new Error('a version edit is cut short');
      p += n;
    };
    while (p < edit.length) {
      const tag = varint();
      switch (tag) {
        case 1: // comparator name
          skipBytes();
          break;
        case 2:
          logNumber = varint();
          break;
        case 3: // next file number
        case 4: // last sequence
          varint();
          break;
        case 5: // compact pointer: level, internal key
          varint();
          skipBytes();
          break;
        case 6: {
          varint(); // level
          tables.delete(varint());
          break;
        }
        case 7: {
          varint(); // level
          const number = varint();
          const size = varint();
          skipBytes(); // smallest key
          skipBytes(); // largest key
          tables.set(number, size);
          break;
        }
        case 9:
          prevLogNumber = varint();
          break;
        default:
          throw new Error(`unknown field ${tag} in a version edit`);
      }
    }
  }
  return { tables, logNumber, prevLogNumber };
}

/**
 * Walks LevelDB's log format (32 KiB blocks of records: masked crc32c, length, type, data).
 * Returns the first damage, or where a torn tail starts.
 */
export function checkLogRecords(buf: Uint8Array, collect = false): { problem: string | null; tornAt: number | null; records: number; payloads: Uint8Array[] } {
  let pos = 0;
  let records = 0;
  let inFragment = false;
  const payloads: Uint8Array[] = [];
  let parts: Uint8Array[] = [];
  while (pos < buf.length) {
    const blockLeft = BLOCK - (pos % BLOCK);
    if (blockLeft < HEADER) {
      pos += blockLeft; // a block's trailer: zeros
      continue;
    }
    if (pos + HEADER > buf.length) return { problem: null, tornAt: pos, records, payloads };
    const len = buf[pos + 4]! | (buf[pos + 5]! << 8);
    const type = buf[pos + 6]!;
    const stored = (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24)) >>> 0;
    if (type === 0 && len === 0 && stored === 0) {
      // Zeros: preallocated space; everything after must be zeros too.
      for (let i = pos; i < buf.length; i++) if (buf[i] !== 0) return { problem: `bytes after the zero padding at offset ${pos}`, tornAt: null, records, payloads };
      return { problem: null, tornAt: null, records, payloads };
    }
    const end = pos + HEADER + len;
    if (HEADER + len > blockLeft) return { problem: `a record at offset ${pos} claims ${len} bytes, more than its block holds`, tornAt: null, records, payloads };
    if (end > buf.length) return { problem: null, tornAt: pos, records, payloads };
    const crc = maskCrc(crc32c(buf, pos + HEADER, end, crc32c(buf, pos + 6, pos + 7)));
    if (crc !== stored) {
      // The last record of the file, half-written by a crash (its tail never reached the disk,
      // so it reads as zeros), is a torn tail; any other is damage.
      if ((end >= buf.length || allZero(buf, end)) && endsInZeros(buf, pos + HEADER, end)) return { problem: null, tornAt: pos, records, payloads };
      return { problem: `the record at offset ${pos} fails its checksum`, tornAt: null, records, payloads };
    }
    if (type < 1 || type > 4) return { problem: `the record at offset ${pos} has an unknown type ${type}`, tornAt: null, records, payloads };
    if ((type === 1 || type === 2) && inFragment) return { problem: `the record at offset ${pos} starts inside another`, tornAt: null, records, payloads };
    if ((type === 3 || type === 4) && !inFragment) return { problem: `the record at offset ${pos} continues a record that never started`, tornAt: null, records, payloads };
    inFragment = type === 2 || type === 3;
    if (collect) parts.push(buf.subarray(pos + HEADER, end));
    if (type === 1 || type === 4) {
      records++;
      if (collect) {
        payloads.push(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
        parts = [];
      }
    }
    pos = end;
  }
  return { problem: null, tornAt: inFragment ? buf.length : null, records, payloads };
}

/** The last bytes of a record are zeros (at least 32 of them, or all of a shorter one): never written. */
function endsInZeros(buf: Uint8Array, start: number, end: number): boolean {
  const from = Math.max(start, end - 32);
  return allZeroRange(buf, from, end);
}

function allZeroRange(buf: Uint8Array, from: number, end: number): boolean {
  for (let i = from; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

function allZero(buf: Uint8Array, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** A table file: its footer, then each block the index names, by checksum. Null when sound. */
export function checkTable(buf: Uint8Array): string | null {
  if (buf.length < FOOTER) return `is ${buf.length} bytes, shorter than a table's footer (truncated?)`;
  for (let i = 0; i < 8; i++) {
    if (buf[buf.length - 8 + i] !== TABLE_MAGIC[i]) return 'does not end in a table footer (truncated or overwritten)';
  }
  try {
    let p = buf.length - FOOTER;
    // (The footer lies inside the file, checked above: running off its end is a bad varint.)
    const varint = (): number => {
      let value: number;
      [value, p] = readVarint(buf, p, buf.length, 64, 'bad varint', 'bad varint');
      return value;
    };
    const meta = { offset: varint(), size: varint() };
    const index = { offset: varint(), size: varint() };
    const metaProblem = checkBlock(buf, meta.offset, meta.size);
    if (metaProblem) return `its metaindex block ${metaProblem}`;
    const indexProblem = checkBlock(buf, index.offset, index.size);
    if (indexProblem) return `its index block ${indexProblem}`;
    let blocks = 0;
    for (const handle of blockValues(blockContents(buf, index.offset, index.size))) {
      const problem = checkBlock(buf, handle.offset, handle.size);
      if (problem) return `its data block at offset ${handle.offset} ${problem}`;
      blocks++;
    }
    if (blocks === 0 && buf.length > FOOTER + 64) return 'has an index that names no block';
    return null;
  } catch (err) {
    return `cannot be read as a table: ${(err as Error).message}`;
  }
}

/** A block's checksum (over its contents and its type byte), or why it fails. */
function checkBlock(buf: Uint8Array, offset: number, size: number): string | null {
  if (offset + size + 5 > buf.length) return `(offset ${offset}, ${size} bytes) runs past the end of the file`;
  const type = buf[offset + size]!;
  if (type !== 0 && type !== 1) return `has an unknown compression type ${type}`;
  const t = offset + size + 1;
  const stored = (buf[t]! | (buf[t + 1]! << 8) | (buf[t + 2]! << 16) | (buf[t + 3]! << 24)) >>> 0;
  const crc = maskCrc(crc32c(buf, offset, offset + size + 1));
  return crc === stored ? null : 'fails its checksum';
}

function blockContents(buf: Uint8Array, offset: number, size: number): Uint8Array {
  const raw = buf.subarray(offset, offset + size);
  return buf[offset + size] === 1 ? snappyUncompress(raw) : raw;
}

/** The values of a block's entries, read as block handles (what an index block holds). */
function* blockValues(block: Uint8Array): Generator<{ offset: number; size: number }> {
  if (block.length < 4) throw new Error('index block too short');
  const restarts = new DataView(block.buffer, block.byteOffset, block.byteLength).getUint32(block.length - 4, true);
  const end = block.length - 4 * (restarts + 1);
  if (end < 0) throw new Error('index block restarts overrun');
  let p = 0;
  const varint = (): number => {
    let value: number;
    [value, p] = readVarint(block, p, end, 64, 'index entry overruns', 'bad varint');
    return value;
  };
  while (p < end) {
    varint(); // shared key bytes
    const unshared = varint();
    const valueLength = varint();
    p += unshared;
    const valueEnd = p + valueLength;
    if (valueEnd > end) throw new Error('index entry overruns');
    const handle = { offset: varint(), size: varint() };
    p = valueEnd;
    yield handle;
  }
}
