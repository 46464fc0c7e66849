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
 * Frames are still one message each, but those published in one turn of the event loop go out
 * together, and are encoded once for every subscriber: each frame's JSON becomes one complete
 * WebSocket text frame (RFC 6455 5.2: FIN, opcode 1, the length, an unmasked payload, as a server
 * sends), the turn's frames are joined into one buffer, and that buffer is written to each
 * subscriber's TCP socket in one write. A burst of changes (a batch commit is hundreds of
 * task.changed) thus costs one write per subscriber and no per-frame work per subscriber.
 * Measured by `npm run bench:dashboard` (docs/benchmarks.md): with 10 dashboards on 2 cores,
 * per-frame sends through ws cost the hub a third of its cycles/s.
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

/** One server-to-client text frame (RFC 6455 section 5.2) around `payload`. */
export function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = 0x81; // FIN, opcode 1 (text)
  if (n < 126) frame[1] = n;
  else if (n < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(n), 2);
  }
  payload.copy(frame, head);
  return frame;
}

export class Feed {
  private readonly subscribers = new Set<WebSocket>();
  /** The TCP socket under each subscriber, written to once per turn. */
  private readonly transports = new WeakMap<WebSocket, FeedTransport>();
  /** This turn's frames (JSON payloads, or builders of them for coalesced frames), in order. */
  private turn: Array<Buffer | (() => FeedMessage)> = [];
  /** Coalesced frames of this turn: key -> index in `turn`. */
  private readonly latest = new Map<string, number>();
  /** The largest start index of a subscriber this turn (a frame before it does not reach everyone). */
  private maxFrom = 0;
  /** Each subscriber this turn: the index in `turn` of its first frame (later joiners start later). */
  private readonly from = new Map<WebSocket, number>();
  private flushScheduled = false;

  /** Adds a subscriber and sends it `first` (the snapshot) before any change. */
  add(ws: WebSocket, first: FeedMessage, transport?: FeedTransport): void {
    ws.send(JSON.stringify(first));
    if (transport) this.transports.set(ws, transport);
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
    this.turn.push(Buffer.from(JSON.stringify(message)));
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
    const turn = this.turn.map((f) => (typeof f === 'function' ? Buffer.from(JSON.stringify(f())) : f));
    this.turn = [];
    this.latest.clear();
    this.maxFrom = 0;
    // One buffer per starting index (nearly always just 0): built once, written to each.
    const joined = new Map<number, Buffer>();
    let frames: Buffer[] | null = null;
    for (const [ws, start] of this.from) {
      if (ws.readyState !== ws.OPEN) continue;
      const socket = this.transports.get(ws);
      if (!socket) {
        for (let i = start; i < turn.length; i++) ws.send(turn[i]!, { binary: false });
        continue;
      }
      let bytes = joined.get(start);
      if (!bytes) {
        frames ??= turn.map(textFrame);
        bytes = start === 0 && frames.length === 1 ? frames[0]! : Buffer.concat(frames.slice(start));
        joined.set(start, bytes);
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
