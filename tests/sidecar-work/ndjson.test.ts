import { describe, expect, it } from 'vitest';
import { NdjsonError, readNdjson } from '../../sidecar/executors/ndjson.js';

async function* chunks(...parts: Array<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? new TextEncoder().encode(p) : p;
}

async function all(body: AsyncIterable<Uint8Array>, maxLineChars?: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const v of readNdjson(body, maxLineChars ? { maxLineChars } : {})) out.push(v);
  return out;
}

describe('readNdjson', () => {
  it('reassembles lines split across chunks, multi-byte characters included, and skips blank lines', async () => {
    const bytes = new TextEncoder().encode('{"t":"héllo €"}\n');
    const cut = 5; // inside "é"
    expect(await all(chunks('{"a":1}\n{"b"', ':2}\n\n', bytes.subarray(0, cut), bytes.subarray(cut), '{"c":3}'))).toEqual([
      { a: 1 },
      { b: 2 },
      { t: 'héllo €' },
      { c: 3 },
    ]);
  });

  it('throws NdjsonError for a line that is not JSON, and for a line that never ends', async () => {
    await expect(all(chunks('{"a":1}\nnot json\n'))).rejects.toBeInstanceOf(NdjsonError);
    await expect(all(chunks('x'.repeat(50), 'y'.repeat(60)), 100)).rejects.toThrow(/longer than 100/);
  });
});
