/**
 * Batches executor progress into messages for `task.progress` frames. A process or a model
 * emits output in tiny pieces (a token, a byte); one frame per piece would flood the socket and
 * the hub's store. The batcher collects pieces and sends a batch when it holds `maxBytes`, or
 * `intervalMs` after the first piece of a batch arrived, whichever comes first; `flush()` sends
 * what it holds at once (before a result, say).
 *
 * Batches are numbered from 1 without gaps, so the hub can spot a lost or doubled one. No batch
 * carries more than `maxBytes` of data (a larger piece is split over several batches) or more
 * than `maxItems` items.
 */
import type { ExecutorProgress } from './executor.js';

/** One message's worth of progress. */
export interface ProgressBatch {
  /** 1 for the first batch, then +1 per batch. */
  seq: number;
  /** Pieces in arrival order; neighbouring pieces of the same stream are merged. */
  items: ExecutorProgress[];
  /** UTF-8 bytes of data in `items`. */
  bytes: number;
}

/** Options of a {@link ProgressBatcher}. */
export interface ProgressBatcherOptions {
  /** Send a batch once it holds this many bytes of data; also the most one batch holds. @defaultValue 8192 */
  maxBytes: number;
  /** Send a batch at the latest this long after its first piece arrived. @defaultValue 250 */
  intervalMs: number;
  /**
   * Most items in one batch (stdout and stderr taking turns make one item per turn). The
   * `task.progress` frame accepts 256. @defaultValue 256
   */
  maxItems: number;
}

export const PROGRESS_BATCHER_DEFAULTS: Readonly<ProgressBatcherOptions> = Object.freeze({
  maxBytes: 8_192,
  intervalMs: 250,
  maxItems: 256,
});

export class ProgressBatcher {
  private readonly opts: ProgressBatcherOptions;
  private items: ExecutorProgress[] = [];
  private bytes = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  /** `send` is called with each batch; it must not throw (a throw is the caller's bug). */
  constructor(
    private readonly send: (batch: ProgressBatch) => void,
    opts: Partial<ProgressBatcherOptions> = {},
  ) {
    this.opts = { ...PROGRESS_BATCHER_DEFAULTS, ...opts };
    if (!Number.isInteger(this.opts.maxBytes) || this.opts.maxBytes < 4) {
      // Under 4 bytes a single UTF-8 character might not fit in a batch.
      throw new TypeError('maxBytes must be an integer of at least 4');
    }
    if (!(this.opts.intervalMs > 0)) throw new TypeError('intervalMs must be positive');
    if (!Number.isInteger(this.opts.maxItems) || this.opts.maxItems < 1) throw new TypeError('maxItems must be a positive integer');
  }

  /** The seq of the last batch sent (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Adds a piece of progress. Pieces pushed after close() are dropped. */
  push(progress: ExecutorProgress): void {
    if (this.closed || progress.data.length === 0) return;
    let rest = progress.data;
    while (rest.length > 0) {
      const room = this.opts.maxBytes - this.bytes;
      const [head, tail] = splitAtBytes(rest, room);
      if (head.length > 0) this.add(progress.stream, head);
      rest = tail;
      if (this.bytes >= this.opts.maxBytes || this.items.length >= this.opts.maxItems || rest.length > 0) this.flush();
    }
    if (this.items.length > 0 && this.timer === null) {
      this.timer = setTimeout(() => this.flush(), this.opts.intervalMs);
    }
  }

  /** Sends what is held now, if anything. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.items.length === 0) return;
    const batch: ProgressBatch = { seq: ++this.seq, items: this.items, bytes: this.bytes };
    this.items = [];
    this.bytes = 0;
    this.send(batch);
  }

  /** Flushes and stops; later pushes are ignored. */
  close(): void {
    this.flush();
    this.closed = true;
  }

  private add(stream: ExecutorProgress['stream'], data: string): void {
    const last = this.items[this.items.length - 1];
    if (last && last.stream === stream) last.data += data;
    else this.items.push({ stream, data });
    this.bytes += Buffer.byteLength(data);
  }
}

/**
 * Splits `text` so that the head is at most `maxBytes` UTF-8 bytes and ends on a whole
 * character (never half a surrogate pair).
 */
export function splitAtBytes(text: string, maxBytes: number): [string, string] {
  if (maxBytes <= 0) return ['', text];
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return [text, ''];
  let bytes = 0;
  let i = 0;
  while (i < text.length) {
    const code = text.codePointAt(i) ?? 0;
    const units = code > 0xffff ? 2 : 1;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) break;
    bytes += size;
    i += units;
  }
  return [text.slice(0, i), text.slice(i)];
}
