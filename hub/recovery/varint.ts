/**
 * LevelDB's and Snappy's varint (little-endian base 128), read by the file checks without
 * opening a store. Returns the value and the position after it; throws `cutShort` when the bytes
 * end (at `end`) inside it, `bad` when it runs longer than `maxShift` bits allow.
 */
export function readVarint(buf: Uint8Array, pos: number, end: number, maxShift: number, cutShort: string, bad: string): [value: number, next: number] {
  let result = 0;
  for (let shift = 0; shift < maxShift; shift += 7) {
    if (pos >= end) throw new Error(cutShort);
    const b = buf[pos++]!;
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [result, pos];
  }
  throw new Error(bad);
}
