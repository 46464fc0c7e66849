/**
 * Keeps the last N bytes of a text stream. Executors and checks report only the end of their
 * output: that is where the error usually is, and a bounded tail cannot swamp a result message
 * or a corrective prompt however much a process prints.
 */

/** Options of a {@link TailBuffer}. */
export interface TailBufferOptions {
  /** Bytes (UTF-8) kept. @defaultValue 16384 */
  maxBytes: number;
}

export const TAIL_DEFAULTS: Readonly<TailBufferOptions> = Object.freeze({ maxBytes: 16_384 });

export class TailBuffer {
  private readonly maxBytes: number;
  private text = '';
  private total = 0;

  constructor(opts: Partial<TailBufferOptions> = {}) {
    const { maxBytes } = { ...TAIL_DEFAULTS, ...opts };
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new TypeError('maxBytes must be a positive integer');
    this.maxBytes = maxBytes;
  }

  append(chunk: string): void {
    if (chunk.length === 0) return;
    this.total += Buffer.byteLength(chunk);
    this.text += chunk;
    // Every UTF-16 unit is at least one UTF-8 byte, so the last maxBytes units always hold the
    // last maxBytes bytes; trimming at twice that keeps appends amortised O(1).
    if (this.text.length > 2 * this.maxBytes) this.text = this.text.slice(-this.maxBytes);
  }

  /** Bytes appended in all, including those no longer kept. */
  get totalBytes(): number {
    return this.total;
  }

  /** True once more was appended than is kept. */
  get truncated(): boolean {
    return this.total > this.maxBytes;
  }

  /** The last maxBytes bytes, cut on a character boundary. */
  toString(): string {
    return lastBytes(this.text, this.maxBytes);
  }
}

/** The last `maxBytes` bytes of `text` (UTF-8), never starting inside a character. */
export function lastBytes(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  let start = buf.length - maxBytes;
  // Skip UTF-8 continuation bytes (10xxxxxx) so the tail starts on a whole character.
  while (start < buf.length && ((buf[start] ?? 0) & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString('utf8');
}
