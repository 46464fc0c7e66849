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

export class Feed {
  private readonly subscribers = new Set<WebSocket>();

  /** Adds a subscriber and sends it `first` (the snapshot) before any change. */
  add(ws: WebSocket, first: FeedMessage): void {
    ws.send(JSON.stringify(first));
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
    const frame = JSON.stringify(message);
    for (const ws of this.subscribers) {
      if (ws.readyState !== ws.OPEN) continue;
      if (ws.bufferedAmount > MAX_BUFFERED) {
        ws.close(CLOSE.TOO_SLOW, 'feed subscriber too slow');
        this.subscribers.delete(ws);
        continue;
      }
      ws.send(frame);
    }
  }

  closeAll(): void {
    for (const ws of this.subscribers) ws.close(CLOSE.GOING_AWAY, 'hub shutting down');
    this.subscribers.clear();
  }
}
