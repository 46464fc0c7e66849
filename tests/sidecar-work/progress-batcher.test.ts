import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressBatcher, splitAtBytes, type ProgressBatch } from '../../sidecar/executors/progress-batcher.js';
import { lastBytes, TailBuffer } from '../../sidecar/executors/tail-buffer.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function collect(opts: { maxBytes?: number; intervalMs?: number } = {}) {
  const batches: ProgressBatch[] = [];
  const batcher = new ProgressBatcher((b) => batches.push(b), opts);
  return { batches, batcher };
}

const text = (batches: ProgressBatch[]) => batches.flatMap((b) => b.items.map((i) => i.data)).join('');

describe('ProgressBatcher', () => {
  it('sends one batch for many tiny pieces once the interval passes, numbered from 1', () => {
    const { batches, batcher } = collect({ maxBytes: 1024, intervalMs: 100 });
    for (const ch of 'hello world') batcher.push({ stream: 'stdout', data: ch });
    expect(batches).toHaveLength(0);
    vi.advanceTimersByTime(99);
    expect(batches).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(batches).toEqual([{ seq: 1, items: [{ stream: 'stdout', data: 'hello world' }], bytes: 11 }]);
    batcher.push({ stream: 'stdout', data: 'again' });
    vi.advanceTimersByTime(100);
    expect(batches.map((b) => b.seq)).toEqual([1, 2]);
  });

  it('sends as soon as a batch holds maxBytes, before the interval', () => {
    const { batches, batcher } = collect({ maxBytes: 10, intervalMs: 10_000 });
    for (const ch of 'abcdefghijklmnopqrstuvwxy') batcher.push({ stream: 'stdout', data: ch });
    expect(batches.map((b) => b.items[0]?.data)).toEqual(['abcdefghij', 'klmnopqrst']);
    expect(batches.every((b) => b.bytes === 10)).toBe(true);
    batcher.flush();
    expect(text(batches)).toBe('abcdefghijklmnopqrstuvwxy');
    expect(batches.map((b) => b.seq)).toEqual([1, 2, 3]);
  });

  it('splits a piece larger than maxBytes so that no batch exceeds it, keeping characters whole', () => {
    const { batches, batcher } = collect({ maxBytes: 8 });
    const data = 'ab€€€😀😀z'; // € is 3 bytes, 😀 is 4 bytes (a surrogate pair)
    batcher.push({ stream: 'text', data });
    batcher.flush();
    expect(text(batches)).toBe(data);
    for (const b of batches) {
      expect(b.bytes).toBeLessThanOrEqual(8);
      expect(Buffer.byteLength(b.items.map((i) => i.data).join(''))).toBe(b.bytes);
      expect(b.items.map((i) => i.data).join('')).not.toMatch(/[\uD800-\uDBFF]$|^[\uDC00-\uDFFF]/);
    }
  });

  it('keeps streams apart and in order, merging neighbours of the same stream', () => {
    const { batches, batcher } = collect();
    batcher.push({ stream: 'stdout', data: 'a' });
    batcher.push({ stream: 'stdout', data: 'b' });
    batcher.push({ stream: 'stderr', data: 'E' });
    batcher.push({ stream: 'stdout', data: 'c' });
    batcher.flush();
    expect(batches).toEqual([
      {
        seq: 1,
        bytes: 4,
        items: [
          { stream: 'stdout', data: 'ab' },
          { stream: 'stderr', data: 'E' },
          { stream: 'stdout', data: 'c' },
        ],
      },
    ]);
  });

  it('sends nothing for an empty flush or empty pieces, and nothing after close', () => {
    const { batches, batcher } = collect();
    batcher.flush();
    batcher.push({ stream: 'stdout', data: '' });
    vi.advanceTimersByTime(10_000);
    expect(batches).toHaveLength(0);
    batcher.push({ stream: 'status', data: 'last' });
    batcher.close();
    batcher.push({ stream: 'status', data: 'late' });
    vi.advanceTimersByTime(10_000);
    expect(batches).toEqual([{ seq: 1, items: [{ stream: 'status', data: 'last' }], bytes: 4 }]);
    expect(batcher.lastSeq).toBe(1);
  });

  it('never sends one message per byte for a byte-at-a-time stream', () => {
    const { batches, batcher } = collect({ maxBytes: 4096, intervalMs: 250 });
    for (let i = 0; i < 10_000; i++) {
      batcher.push({ stream: 'stdout', data: 'x' });
      if (i % 100 === 0) vi.advanceTimersByTime(10); // 1000 ms over the whole run
    }
    batcher.close();
    expect(text(batches)).toHaveLength(10_000);
    expect(batches.length).toBeLessThanOrEqual(10);
    expect(batches.map((b) => b.seq)).toEqual(batches.map((_, i) => i + 1));
  });

  it('rejects nonsense options', () => {
    expect(() => new ProgressBatcher(() => {}, { maxBytes: 0 })).toThrow(TypeError);
    expect(() => new ProgressBatcher(() => {}, { intervalMs: 0 })).toThrow(TypeError);
  });
});

describe('splitAtBytes and TailBuffer', () => {
  it('splits on a character boundary within the byte budget', () => {
    expect(splitAtBytes('abc', 10)).toEqual(['abc', '']);
    expect(splitAtBytes('a€b', 3)).toEqual(['a', '€b']);
    expect(splitAtBytes('a€b', 4)).toEqual(['a€', 'b']);
    expect(splitAtBytes('😀x', 3)).toEqual(['', '😀x']);
  });

  it('keeps the last maxBytes bytes and says when it dropped some', () => {
    const t = new TailBuffer({ maxBytes: 5 });
    t.append('hello ');
    t.append('world');
    expect(t.toString()).toBe('world');
    expect(t.truncated).toBe(true);
    expect(t.totalBytes).toBe(11);
    expect(lastBytes('x€€', 4)).toBe('€');
    for (let i = 0; i < 1000; i++) t.append('0123456789');
    expect(t.toString()).toBe('56789');
  });
});

describe('ProgressBatcher item limit', () => {
  it('sends a batch once it holds maxItems items, so alternating streams stay within a frame', () => {
    vi.useFakeTimers();
    const batches: ProgressBatch[] = [];
    const batcher = new ProgressBatcher((b) => batches.push(b), { maxItems: 4, maxBytes: 1000 });
    for (let i = 0; i < 10; i++) batcher.push({ stream: i % 2 ? 'stderr' : 'stdout', data: String(i) });
    batcher.close();
    expect(batches.map((b) => b.items.length)).toEqual([4, 4, 2]);
    expect(text(batches)).toBe('0123456789');
    expect(() => new ProgressBatcher(() => {}, { maxItems: 0 })).toThrow(TypeError);
  });
});
