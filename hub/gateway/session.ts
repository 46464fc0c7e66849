/**
 * One agent connection's state and its inbound frames: each frame is parsed against the protocol
 * schema; the first message must be a hello (handshake.ts); what arrives while the handshake
 * reconciles is kept and handled right after it, in order; then each message goes to its handler
 * (handlers.ts). Bad frames are answered with an error, and too many of them close the socket.
 */
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { SwitchyardError, toWireError } from '../../shared/errors.js';
import { parseSidecarMessage, type SidecarMessage } from '../../shared/protocol.js';
import type { LiveAgent } from '../agents/registry.js';
import { CLOSE } from './close-codes.js';
import type { GatewayDeps, Session } from './context.js';
import { dispatch } from './handlers.js';
import { handshake, helloDeadline } from './handshake.js';
import { Outbound, type Corkable } from './outbound.js';
import { FrameWindow } from '../edge/rate-limits.js';

/** Bad frames a connection may send before it is closed. */
const MAX_ERRORS = 50;

export class AgentSession implements Session {
  readonly conn: Outbound;
  log: Logger;
  registeredId: string | null = null;
  readonly lastSeq = new Map<string, number>();
  readonly frames: FrameWindow;
  private agent: LiveAgent | null = null;
  private helloStarted = false;
  private errors = 0;
  private readonly early: SidecarMessage[] = [];
  private readonly helloTimer: NodeJS.Timeout;

  constructor(
    ws: WebSocket,
    readonly deps: GatewayDeps,
    transport?: Corkable,
    /** The client's address, for the violations it is counted for. */
    private readonly address: string | null = null,
  ) {
    this.log = deps.log;
    // Out of the registry when the hub closes it, not when the peer answers: no offer goes to it meanwhile.
    this.conn = new Outbound(ws, transport, () => {
      if (this.registeredId !== null) deps.registry.disconnect(this.registeredId, this.conn);
    });
    this.helloTimer = helloDeadline(this, () => this.agent !== null);
    this.frames = new FrameWindow(deps.limits?.wsBudget(null) ?? Infinity, deps.now);
  }

  sendError(err: unknown, id?: string): void {
    const wire = toWireError(err);
    if (wire.code === 'INTERNAL') this.log.error({ err }, 'agent message failed');
    this.conn.send({ type: 'error', ...(id !== undefined ? { id } : {}), ...wire });
  }

  answer(id: string, work: Promise<unknown>): void {
    work.then(
      () => this.conn.send({ type: 'ack', id }),
      (err) => this.sendError(err, id),
    );
  }

  becomeReady(live: LiveAgent): void {
    this.agent = live;
    for (const m of this.early.splice(0)) dispatch(this, live, m);
  }

  /** One frame from the sidecar. */
  onFrame(data: Buffer, isBinary: boolean): void {
    if (this.conn.closing) return;
    let msg: SidecarMessage;
    try {
      if (isBinary) throw new SwitchyardError('PROTOCOL_INVALID_JSON', 'binary frames are not part of the protocol');
      msg = parseSidecarMessage(data);
    } catch (err) {
      const id = (err as SwitchyardError).details as { id?: string } | undefined;
      this.sendError(err, id?.id);
      this.violation((err as SwitchyardError).code ?? 'bad frame');
      return;
    }
    // Over its messages per second: refused with the wait, and not acted on (the sidecar resends what has an id).
    const wait = this.frames.take();
    if (wait > 0) {
      this.deps.limits?.onRefused('ws');
      this.sendError(new SwitchyardError('RATE_LIMITED', `more than ${this.frames.budgetPerSecond} messages in a second: wait ${wait} ms`, { retry_after_ms: wait, budget: 'ws' }), 'id' in msg ? msg.id : undefined);
      return;
    }
    if (msg.type === 'hello') {
      if (this.helloStarted) {
        this.sendError(new SwitchyardError('VALIDATION_FAILED', 'hello was already received on this connection'));
        return;
      }
      this.helloStarted = true;
      void handshake(this, msg).catch((err) => {
        this.sendError(err);
        this.conn.close(CLOSE.UNAUTHORIZED, 'hello failed');
      });
      return;
    }
    if (!this.helloStarted) {
      this.sendError(new SwitchyardError('PROTOCOL_NOT_READY', 'send hello first'), 'id' in msg ? msg.id : undefined);
      this.conn.close(CLOSE.NO_HELLO, 'no hello');
      return;
    }
    if (!this.agent) {
      this.early.push(msg);
      return;
    }
    dispatch(this, this.agent, msg);
  }

  /**
   * A refused frame: counted against the agent (once authenticated) and the address. Past the
   * threshold the socket is closed, saying how long to stay away; without a tracker, 50 bad
   * frames on one connection close it.
   */
  violation(reason: string): void {
    const tracker = this.deps.violations;
    if (!tracker) {
      if (++this.errors >= MAX_ERRORS) this.conn.close(CLOSE.TOO_MANY_ERRORS, 'too many bad frames');
      return;
    }
    const wait = tracker.record(this.violationKeys(), reason);
    if (wait === 0) return;
    this.log.warn({ reason, wait_ms: wait }, 'agent disconnected for too many refused frames');
    this.sendError(new SwitchyardError('TOO_MANY_VIOLATIONS', `too many refused frames (the last: ${reason}): stay away ${Math.ceil(wait / 1000)} s, then fix what is sent`, { retry_after_ms: wait }));
    this.conn.close(CLOSE.TOO_MANY_ERRORS, `too many refused frames: wait ${Math.ceil(wait / 1000)} s`);
  }

  /** Who a refusal counts against: the address, and the agent once its hello authenticated it. */
  private violationKeys(): string[] {
    return [...(this.address ? [`address:${this.address}`] : []), ...(this.registeredId !== null ? [`agent:${this.registeredId}`] : [])];
  }

  /** The socket closed, whoever closed it. */
  onClose(): void {
    clearTimeout(this.helloTimer);
    // A socket that closes while its hello is still being reconciled is registered already:
    // without this the registry would keep a dead connection and offer it work.
    if (this.registeredId !== null) {
      this.deps.registry.disconnect(this.registeredId, this.conn);
      this.log.info('agent disconnected');
    }
  }

  /**
   * The socket failed (ws emits 'error': a frame over the hard limit, an invalid frame, a reset).
   * ws closes it itself; the session stops acting on it now. Logging is the socket error policy's
   * (socket-errors.ts), once per burst, not here.
   */
  onSocketError(): void {
    // ws closes the socket itself (an oversized or invalid frame): it still counts as a refusal.
    if (!this.conn.closing && this.deps.violations) {
      this.deps.violations.record(this.violationKeys(), 'invalid or oversized frame');
    }
    this.conn.abandon();
  }
}
