/**
 * Connection liveness for every socket the hub holds (sidecars and feed subscribers): each is
 * pinged every interval, and one whose pong has not come back by the next ping is terminated.
 * Pings go out in slices so that ten thousand sockets do not stall the event loop in one sweep.
 */
import type { WebSocket } from 'ws';

/** Sockets pinged per slice; the next slice waits for the next turn of the event loop. */
const PING_SLICE = 256;

export class Pinger {
  private readonly sockets = new Set<WebSocket>();
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** Between pings; a socket silent for two is dropped. @defaultValue 15000 (SWITCHYARD_PING_MS) */
    private readonly intervalMs: number,
  ) {}

  /** Follows a socket until it closes. */
  track(socket: WebSocket): void {
    this.sockets.add(socket);
    this.alive.set(socket, true);
    socket.on('pong', () => this.alive.set(socket, true));
    socket.on('close', () => this.sockets.delete(socket));
  }

  get size(): number {
    return this.sockets.size;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Closes every socket followed (the hub is stopping). */
  closeAll(code: number, reason: string): void {
    for (const ws of this.sockets) ws.close(code, reason);
  }

  private sweep(): void {
    const all = [...this.sockets];
    const slice = (from: number) => {
      for (const ws of all.slice(from, from + PING_SLICE)) {
        if (ws.readyState !== ws.OPEN) continue;
        if (this.alive.get(ws) === false) {
          ws.terminate();
          continue;
        }
        this.alive.set(ws, false);
        ws.ping();
      }
      if (from + PING_SLICE < all.length) setImmediate(() => slice(from + PING_SLICE));
    };
    slice(0);
  }
}
