/**
 * The sidecar's one WebSocket to the hub, kept up until stopped: on any close it reconnects with
 * exponential backoff and full jitter (so a fleet does not reconnect in lockstep after a hub
 * restart), says hello again, and tells its owner. A hub that goes silent (no ping or message for
 * three of the ping intervals its `welcome` names) is treated as gone.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { Logger } from 'pino';
import { MAX_FRAME_BYTES, parseHubMessage, type HubMessage, type HubMessageOf, type SidecarMessage } from '../shared/protocol.js';

export interface ConnectionOptions {
  url: string;
  minDelayMs: number;
  maxDelayMs: number;
  /**
   * Reconnect when nothing (not even a ping) came from the hub for this long, until a `welcome`
   * names the hub's ping interval: then three of those. @defaultValue 45000 (three of the hub's default 15 s)
   */
  silenceMs?: number;
  log: Logger;
  /** Builds the hello at connect time, so it reports what is in flight right now. */
  hello: () => Promise<SidecarMessage>;
}

/** Ping intervals of silence after which the hub is treated as gone (docs/protocol.md). */
const SILENT_PINGS = 3;
/** The hub's ping interval when its welcome does not name one (hubs before `ping_ms`). */
const DEFAULT_PING_MS = 15_000;

type Events = {
  message: [HubMessage];
  ready: [HubMessageOf<'welcome'>];
  down: [{ code: number; reason: string }];
};

export class HubConnection extends EventEmitter<Events> {
  private ws: WebSocket | null = null;
  private attempt = 0;
  /** No reconnect before this (ms since epoch): the hub said how long to stay away. */
  private notBefore = 0;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private silenceTimer: NodeJS.Timeout | null = null;
  private welcomed = false;
  /** How long the hub may be silent before it is treated as gone (see ConnectionOptions.silenceMs). */
  private silenceMs: number;

  constructor(private readonly opts: ConnectionOptions) {
    super();
    this.silenceMs = opts.silenceMs ?? SILENT_PINGS * DEFAULT_PING_MS;
  }

  get ready(): boolean {
    return this.welcomed && this.ws?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Sends if connected and welcomed; returns false otherwise (the caller keeps it for later). */
  send(message: SidecarMessage): boolean {
    if (!this.ready) return false;
    this.ws!.send(JSON.stringify(message));
    return true;
  }

  private connect(): void {
    if (this.stopped) return;
    const ws = new WebSocket(this.opts.url, { maxPayload: 2 * MAX_FRAME_BYTES, handshakeTimeout: 10_000 });
    this.ws = ws;
    this.welcomed = false;
    ws.on('open', () => {
      this.touch();
      this.opts
        .hello()
        .then((hello) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(hello)))
        .catch((err) => {
          this.opts.log.error({ err }, 'building hello failed');
          ws.close();
        });
    });
    ws.on('ping', () => this.touch());
    ws.on('message', (data) => {
      this.touch();
      let msg: HubMessage;
      try {
        msg = parseHubMessage(data as Buffer);
      } catch (err) {
        this.opts.log.warn({ err }, 'ignoring a bad frame from the hub');
        return;
      }
      if (msg.type === 'welcome') {
        this.welcomed = true;
        this.attempt = 0;
        // The hub's own ping interval, so an operator's SWITCHYARD_PING_MS reaches every sidecar.
        if (msg.ping_ms !== undefined && msg.ping_ms > 0) this.silenceMs = SILENT_PINGS * msg.ping_ms;
        this.touch();
        this.opts.log.info({ url: this.opts.url, silence_ms: this.silenceMs }, 'connected to hub');
        this.emit('ready', msg);
        return;
      }
      if (msg.type === 'error' && !this.welcomed) {
        this.opts.log.error({ code: msg.code }, `hub refused the connection: ${msg.message}`);
      }
      // Kept out for a while (too many refused frames): no reconnect before then, it would be refused.
      const wait = msg.type === 'error' && msg.code === 'TOO_MANY_VIOLATIONS' ? (msg.details as { retry_after_ms?: unknown } | undefined)?.retry_after_ms : undefined;
      if (typeof wait === 'number') this.notBefore = Date.now() + wait;
      this.emit('message', msg);
    });
    ws.on('error', (err) => {
      this.opts.log.debug({ err: err.message }, 'hub socket error');
    });
    // Refused before the upgrade (429: rate limited, or an address kept out): wait as long as it says.
    ws.on('unexpected-response', (_req, res) => {
      const after = Number(res.headers['retry-after']);
      if (res.statusCode === 429 && Number.isFinite(after) && after > 0) this.notBefore = Date.now() + after * 1000;
      this.opts.log.warn({ status: res.statusCode, retry_after_s: Number.isFinite(after) ? after : undefined }, 'hub refused the connection');
      res.resume();
      ws.terminate();
    });
    ws.on('close', (code, reasonBuf) => {
      const reason = reasonBuf.toString();
      const wasReady = this.welcomed;
      this.welcomed = false;
      if (this.silenceTimer) clearTimeout(this.silenceTimer);
      if (this.ws === ws) this.ws = null;
      this.emit('down', { code, reason });
      if (this.stopped) {
        this.opts.log.info({ code, reason }, 'closed the hub connection');
        return;
      }
      if (wasReady) this.opts.log.warn({ code, reason }, 'lost the hub connection; reconnecting');
      this.scheduleReconnect();
    });
  }

  private touch(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      this.opts.log.warn('hub went silent; reconnecting');
      this.ws?.terminate();
    }, this.silenceMs);
    this.silenceTimer.unref();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const cap = Math.min(this.opts.maxDelayMs, this.opts.minDelayMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    const delay = Math.max(Math.round(this.opts.minDelayMs / 2 + Math.random() * cap), this.notBefore - Date.now());
    this.opts.log.debug({ delay_ms: delay, attempt: this.attempt }, 'reconnecting');
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Closes for good (no reconnect). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close(1000, 'sidecar stopping');
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000).unref();
    });
  }
}
