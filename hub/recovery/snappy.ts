/**
 * Snappy decompression, only to read the index block of a LevelDB table (compressed like its
 * data blocks) when level-files.ts checks a table file without opening the store. Throws on a
 * malformed stream.
 */
import { readVarint } from './varint.js';

export function snappyUncompress(src: Uint8Array): Uint8Array {
  const [size, start] = readVarint(src, 0, src.length, 35, 'snappy: truncated length', 'snappy: bad length');
  let pos = start;
  if (size > 64 * 1024 * 1024) throw new Error('snappy: implausible length');
  const out = new Uint8Array(size);
  let o = 0;
  const le = (n: number): number => {
    if (pos + n > src.length) throw new Error('snappy: truncated');
    let v = 0;
    for (let i = 0; i < n; i++) v += src[pos++]! * 2 ** (8 * i);
    return v;
  };
  while (pos < src.length) {
    const tag = src[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      len = len < 60 ? len + 1 : le(len - 59) + 1;
      if (pos + len > src.length || o + len > size) throw new Error('snappy: literal overruns');
      out.set(src.subarray(pos, pos + len), o);
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | le(1);
    } else {
      len = (tag >>> 2) + 1;
      offset = le(kind === 2 ? 2 : 4);
    }
    if (offset === 0 || offset > o || o + len > size) throw new Error('snappy: copy out of range');
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset]!;
  }
  if (o !== size) throw new Error('snappy: short output');
  return out;
}
