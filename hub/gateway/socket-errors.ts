/**
 * What the hub does when a WebSocket fails (ws emits 'error' on it): a frame over the hard limit
 * (ws closes with 1009), an invalid frame (1002), a connection reset. Those are the peer's doing,
 * and anyone who can reach the port can cause them, before any hello: they are logged as a
 * warning without a stack, at most once per window for the whole hub (the next line says how
 * many were left out), and the socket is cut if the peer does not answer ws's close frame. Any
 * other error on a socket route is the hub's own bug: logged as an error, the socket terminated.
 *
 * @fastify/websocket routes every socket's 'error' to one handler; `websocketPluginOptions` is
 * what hub/app.ts registers the plugin with.
 */
import type { WebsocketPluginOptions } from '@fastify/websocket';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { chooseProtocol } from '../../shared/feed.js';
import { MAX_FRAME_BYTES } from '../../shared/protocol.js';
import { cutLater } from './outbound.js';

/** Options of the socket error policy. */
export interface SocketErrorOptions {
  /** One warning per this long, at most. @defaultValue 60000 */
  windowMs: number;
  /** @defaultValue Date.now */
  now: () => number;
}

/** Errors a peer causes: ws's own protocol errors (`WS_ERR_*`) and the socket's system errors. */
export function isPeerSocketError(err: unknown): boolean {
  const e = err as { code?: unknown; syscall?: unknown } | null;
  if (typeof e?.code !== 'string') return false;
  return e.code.startsWith('WS_ERR_') || typeof e.syscall === 'string' || e.code === 'ECONNRESET' || e.code === 'EPIPE';
}

/** Peer socket errors, logged at most once per window. */
export class PeerErrorLog {
  private readonly opts: SocketErrorOptions;
  private windowStart = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    opts: Partial<SocketErrorOptions> = {},
  ) {
    this.opts = { windowMs: 60_000, now: Date.now, ...opts };
  }

  report(err: Error & { code?: string }, fields: Record<string, unknown>): void {
    const now = this.opts.now();
    if (now - this.windowStart < this.opts.windowMs) {
      this.suppressed++;
      return;
    }
    this.windowStart = now;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.log.warn({ code: err.code, reason: err.message, ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, 'a peer broke the WebSocket protocol or dropped its connection');
  }
}

/**
 * The options hub/app.ts registers @fastify/websocket with: frames up to twice the protocol limit
 * reach the parser (and get a PAYLOAD_TOO_LARGE error frame); beyond that ws closes the socket
 * itself (1009) without buffering more; socket errors follow the policy above; and a client that
 * offers subprotocols (the dashboard's feed: `switchyard.v1` and `bearer.<token>`) gets back only a
 * non-secret one: ws would otherwise echo the first offered, which could be the token. Sidecars
 * offer none, so their handshake is unchanged.
 */
export function websocketPluginOptions(log: Logger, opts: Partial<SocketErrorOptions> = {}): WebsocketPluginOptions {
  const peers = new PeerErrorLog(log.child({ module: 'sockets' }), opts);
  return {
    options: { maxPayload: 2 * MAX_FRAME_BYTES, handleProtocols: (offered: Set<string>) => chooseProtocol(offered) },
    errorHandler(error, socket: WebSocket, request) {
      if (isPeerSocketError(error)) {
        peers.report(error as Error & { code?: string }, { path: request.routeOptions.url ?? request.url, remote: request.ip });
        cutLater(socket);
        return;
      }
      request.log.error({ err: error }, 'a WebSocket route failed');
      socket.terminate();
    },
  };
}
