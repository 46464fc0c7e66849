/**
 * The hub's side of one agent socket as the registry and scheduler see it: send a message, close
 * with a code. Frames sent in one tick (the acks of one group commit, a burst of assignments)
 * leave in one write to the TCP socket instead of one system call each: the socket is corked for
 * the rest of the tick. Measured with `BENCH_FLEETS=100 BENCH_IDLE_SIDECARS=0 npm run bench:dispatch`
 * on 2 shared cores, alternating runs: corked 5,757 / 5,687 / 4,619 full cycles/s at 222–283 µs of
 * hub CPU per cycle, uncorked 4,530 / 5,193 / 4,426 at 241–285 µs: some 10% of the hub's CPU.
 */
import type { WebSocket } from 'ws';
import type { HubMessage } from '../../shared/protocol.js';
import type { AgentConnection } from '../agents/registry.js';
import { CLOSE_GRACE_MS } from './close-codes.js';

/**
 * The TCP socket under a WebSocket, as far as batching needs it: Node's `net.Socket` (public
 * `Writable` API). The server hands it over with the upgrade request (`req.raw.socket` in a
 * @fastify/websocket handler, `req.socket` for a plain `ws` server).
 */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

export class Outbound implements AgentConnection {
  private corked = false;
  private closingNow = false;

  /**
   * @param transport the socket under `ws`; without it every frame is its own write.
   * @param onClose called once when the hub closes this connection (before the close frame).
   */
  constructor(
    private readonly ws: WebSocket,
    private readonly transport: Corkable | undefined,
    private readonly onClose: () => void,
  ) {}

  /** True once the hub closed this connection: nothing that arrives on it is acted on. */
  get closing(): boolean {
    return this.closingNow;
  }

  send(message: HubMessage): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.sendText(JSON.stringify(message));
  }

  sendText(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.transport && !this.corked) {
      this.corked = true;
      this.transport.cork();
      process.nextTick(() => {
        this.corked = false;
        this.transport!.uncork();
      });
    }
    this.ws.send(text);
  }

  close(code: number, reason: string): void {
    if (this.closingNow) return;
    this.closingNow = true;
    this.onClose();
    this.ws.close(code, reason);
    cutLater(this.ws);
  }

  /** The socket failed (a frame over the hard limit, a reset): stop acting on it as if closed. */
  abandon(): void {
    if (this.closingNow) return;
    this.closingNow = true;
    this.onClose();
  }
}

/** A peer that does not answer the close frame is cut: without this, ws waits 30 s for it. */
export function cutLater(ws: WebSocket): void {
  setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
}
