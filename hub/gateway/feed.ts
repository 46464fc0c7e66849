/**
 * The live feed's subscribers: every durable task change, agent state change, alert and task
 * progress, pushed as JSON to subscribed dashboards and CLIs (hub/features/feed.ts says what). A
 * subscriber that cannot keep up is disconnected rather than allowed to grow the hub's memory.
 */
import type { WebSocket } from 'ws';
import type { FeedMessage } from '../../shared/feed.js';
import { CLOSE } from './close-codes.js';
import type { Corkable } from './outbound.js';

/** The frames (shared/feed.ts defines each once). */
export type { FeedMessage };

/** Bytes a subscriber may have unsent before it is dropped. */
const MAX_BUFFERED = 8 * 1024 * 1024;

/**
 * Frames are still one message each, but those published in one turn of the event loop go out
 * together: each subscriber's socket is corked for the batch, so a burst of changes (a batch commit
 * is hundreds of task.changed) costs one write per subscriber instead of one per frame, and each
 * frame is encoded to bytes once for all subscribers. Measured by `npm run bench:dashboard`
 * (docs/benchmarks.md): with 10 dashboards on 2 cores, per-frame writes cost the hub most of its
 * cycles/s. The TCP socket is the upgrade request's (public `net.Socket` API, as outbound.ts does).
 */

export class Feed {
  private readonly subscribers = new Set<WebSocket>();
  /** The TCP socket under each subscriber, corked for a batch. */
  private readonly transports = new WeakMap<WebSocket, Corkable>();
  /** Frames published this turn, per subscriber, in order. */
  private readonly pending = new Map<WebSocket, Buffer[]>();
  private flushScheduled = false;

  /** Adds a subscriber and sends it `first` (the snapshot) before any change. */
  add(ws: WebSocket, first: FeedMessage, transport?: Corkable): void {
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
    if (this.subscribers.size === 0) return;
    const frame = Buffer.from(JSON.stringify(message));
    for (const ws of this.subscribers) {
      if (ws.readyState !== ws.OPEN) continue;
      if (ws.bufferedAmount > MAX_BUFFERED) {
        ws.close(CLOSE.TOO_SLOW, 'feed subscriber too slow');
        this.subscribers.delete(ws);
        this.pending.delete(ws);
        continue;
      }
      const queue = this.pending.get(ws);
      if (queue) queue.push(frame);
      else this.pending.set(ws, [frame]);
    }
    if (!this.flushScheduled && this.pending.size > 0) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const [ws, frames] of this.pending) {
      if (ws.readyState !== ws.OPEN) continue;
      const socket = this.transports.get(ws);
      socket?.cork();
      for (const frame of frames) ws.send(frame, { binary: false });
      socket?.uncork();
    }
    this.pending.clear();
  }

  closeAll(): void {
    this.pending.clear();
    for (const ws of this.subscribers) ws.close(CLOSE.GOING_AWAY, 'hub shutting down');
    this.subscribers.clear();
  }
}
