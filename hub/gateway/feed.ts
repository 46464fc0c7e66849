/**
 * The live feed's subscribers: every durable task change, agent state change, alert and task
 * progress, pushed as JSON to subscribed dashboards and CLIs (hub/features/feed.ts says what). A
 * subscriber that cannot keep up is disconnected rather than allowed to grow the hub's memory.
 */
import type { WebSocket } from 'ws';
import type { FeedMessage } from '../../shared/feed.js';
import { CLOSE } from './close-codes.js';

/** The frames (shared/feed.ts defines each once). */
export type { FeedMessage };

/** Bytes a subscriber may have unsent before it is dropped. */
const MAX_BUFFERED = 8 * 1024 * 1024;

/**
 * Messages published in one turn of the event loop go out together, and are encoded once for
 * every subscriber: the turn's messages become complete WebSocket text frames (RFC 6455 5.2: FIN,
 * opcode 1, the length, an unmasked payload, as a server sends) in one buffer, and that buffer is
 * written to each subscriber's TCP socket in one write. A subscriber that negotiated the batch
 * subprotocol (FEED_BATCH_PROTOCOL: the dashboard) gets the whole turn as ONE message, a `batch`
 * of the turn's messages in order, so a commit of hundreds of task changes costs its socket one
 * frame and its page one JSON.parse and one message event, not hundreds. Task changes are sent as
 * the text the store already wrote to disk (publishJson), not serialized a second time.
 * Measured by `npm run bench:dashboard` (docs/benchmarks.md).
 *
 * Writing beside ws is safe here: the feed's sockets negotiate no extension (permessage-deflate is
 * off, so ws never holds a message back to compress it) and ws writes each of its own frames (the
 * hello, pings, the close) whole and synchronously, so frames never interleave; `bufferedAmount`
 * still counts these bytes, since it reads the socket's buffer. Without the TCP socket (a caller
 * that did not pass it) frames go through `ws.send` one by one.
 */

/** What the feed needs of a subscriber's TCP socket (a `net.Socket`, the upgrade request's). */
export interface FeedTransport {
  write(chunk: Uint8Array): boolean;
}

/** The header of a server-to-client text frame (RFC 6455 section 5.2) of `n` payload bytes, written at `at`; returns its length. */
function writeFrameHead(buf: Buffer, at: number, n: number): number {
  buf[at] = 0x81; // FIN, opcode 1 (text)
  if (n < 126) {
    buf[at + 1] = n;
    return 2;
  }
  if (n < 65_536) {
    buf[at + 1] = 126;
    buf.writeUInt16BE(n, at + 2);
    return 4;
  }
  buf[at + 1] = 127;
  buf.writeBigUInt64BE(BigInt(n), at + 2);
  return 10;
}

const headLength = (n: number): number => (n < 126 ? 2 : n < 65_536 ? 4 : 10);

/** One server-to-client text frame around `payload`. */
export function textFrame(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(headLength(payload.length) + payload.length);
  payload.copy(frame, writeFrameHead(frame, 0, payload.length));
  return frame;
}

/** The text frames of `payloads` (JSON strings), back to back in one buffer: one allocation, no copies between. */
export function textFrames(payloads: readonly string[]): Buffer {
  const sizes = payloads.map((p) => Buffer.byteLength(p));
  let total = 0;
  for (const n of sizes) total += headLength(n) + n;
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < payloads.length; i++) {
    at += writeFrameHead(buf, at, sizes[i]!);
    at += buf.write(payloads[i]!, at);
  }
  return buf;
}

/** A subscriber's framing: one WebSocket message per FeedMessage, or one `batch` message per turn (shared/feed.ts). */
export type FeedMode = 'single' | 'batch';

export class Feed {
  private readonly subscribers = new Set<WebSocket>();
  /** The TCP socket under each subscriber, written to once per turn. */
  private readonly transports = new WeakMap<WebSocket, FeedTransport>();
  /** This turn's messages (JSON text, or builders of them for coalesced ones), in order. */
  private turn: Array<string | (() => FeedMessage)> = [];
  private readonly modes = new WeakMap<WebSocket, FeedMode>();
  /** Coalesced frames of this turn: key -> index in `turn`. */
  private readonly latest = new Map<string, number>();
  /** The largest start index of a subscriber this turn (a frame before it does not reach everyone). */
  private maxFrom = 0;
  /** Each subscriber this turn: the index in `turn` of its first frame (later joiners start later). */
  private readonly from = new Map<WebSocket, number>();
  private flushScheduled = false;

  /** Adds a subscriber and sends it `first` (the snapshot) before any change. */
  add(ws: WebSocket, first: FeedMessage, transport?: FeedTransport, mode: FeedMode = 'single'): void {
    ws.send(JSON.stringify(first));
    if (transport) this.transports.set(ws, transport);
    if (mode === 'batch') this.modes.set(ws, mode);
    this.subscribers.add(ws);
    ws.on('close', () => this.subscribers.delete(ws));
    // A failed socket (a frame over the hard limit, a reset) gets nothing more; ws closes it, and
    // the socket error policy (socket-errors.ts) logs it and cuts it if the peer does not answer.
    ws.on('error', () => this.subscribers.delete(ws));
  }

  get size(): number {
    return this.subscribers.size;
  }

  publish(message: FeedMessage): void {
    if (!this.admit()) return;
    this.turn.push(JSON.stringify(message));
    this.schedule();
  }

  /**
   * A message whose JSON the caller already has (a task change: the store serialized the task and
   * its event for the disk, and the feed sends the same text rather than serializing it again).
   * `json` must be exactly JSON.stringify of a FeedMessage.
   */
  publishJson(json: string): void {
    if (!this.admit()) return;
    this.turn.push(json);
    this.schedule();
  }

  /**
   * A state snapshot (an agent's view) where only the newest matters: within one turn, a later
   * one replaces the earlier in its place, and `build` runs once, at the flush. A burst of an
   * agent's state changes (assigned, working, idle in one batch) is then one frame, not three.
   * Unless a subscriber joined after the earlier one (its snapshot predates the change): then the
   * frame is appended instead, so nobody misses the newest state.
   */
  publishLatest(key: string, build: () => FeedMessage): void {
    if (!this.admit()) return;
    const at = this.latest.get(key);
    if (at !== undefined && at >= this.maxFrom) {
      this.turn[at] = build;
    } else {
      this.latest.set(key, this.turn.length);
      this.turn.push(build);
    }
    this.schedule();
  }

  /** Notes this turn's receivers (dropping those too far behind); false when there are none. */
  private admit(): boolean {
    if (this.subscribers.size === 0) return false;
    const index = this.turn.length;
    let taken = false;
    for (const ws of this.subscribers) {
      if (ws.readyState !== ws.OPEN) continue;
      if (ws.bufferedAmount > MAX_BUFFERED) {
        ws.close(CLOSE.TOO_SLOW, 'feed subscriber too slow');
        this.subscribers.delete(ws);
        this.from.delete(ws);
        continue;
      }
      if (!this.from.has(ws)) {
        this.from.set(ws, index);
        if (index > this.maxFrom) this.maxFrom = index;
      }
      taken = true;
    }
    return taken;
  }

  private schedule(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const turn = this.turn.map((f) => (typeof f === 'function' ? JSON.stringify(f()) : f));
    this.turn = [];
    this.latest.clear();
    this.maxFrom = 0;
    // One buffer per (starting index, mode) (nearly always one: start 0): built once, written to each.
    const built = new Map<string, Buffer>();
    for (const [ws, start] of this.from) {
      if (ws.readyState !== ws.OPEN || start >= turn.length) continue;
      const mode = this.modes.get(ws) ?? 'single';
      const socket = this.transports.get(ws);
      if (!socket) {
        if (mode === 'batch') ws.send(batchJson(turn, start), { binary: false });
        else for (let i = start; i < turn.length; i++) ws.send(turn[i]!, { binary: false });
        continue;
      }
      const key = `${mode}:${start}`;
      let bytes = built.get(key);
      if (!bytes) {
        bytes = mode === 'batch' ? textFrames([batchJson(turn, start)]) : textFrames(start === 0 ? turn : turn.slice(start));
        built.set(key, bytes);
      }
      socket.write(bytes);
    }
    this.from.clear();
  }

  closeAll(): void {
    this.turn = [];
    this.latest.clear();
    this.maxFrom = 0;
    this.from.clear();
    for (const ws of this.subscribers) ws.close(CLOSE.GOING_AWAY, 'hub shutting down');
    this.subscribers.clear();
  }
}

/** A turn's messages from `start` as one `batch` message (FeedBatch in shared/feed.ts). */
function batchJson(turn: readonly string[], start: number): string {
  return `{"type":"batch","messages":[${(start === 0 ? turn : turn.slice(start)).join(',')}]}`;
}
