/**
 * One sidecar's WebSocket, from its first frame to its close:
 *
 *   session.ts     the connection's state and inbound frames (parse, hello first, early messages)
 *   handshake.ts   hello: version, token, registration, welcome, then reconciliation applied
 *   reconcile.ts   the pure decision: resume / drop / reclaim, from in_flight and the hub's leases
 *   handlers.ts    one handler per message type, each fenced by the authenticated agent's leases
 *   outbound.ts    sends (frames of one tick in one write) and closes (with a cut after a grace)
 *
 * The protocol itself is docs/protocol.md.
 */
import type { WebSocket } from 'ws';
import type { GatewayDeps } from './context.js';
import type { Corkable } from './outbound.js';
import { AgentSession } from './session.js';

export type { GatewayDeps } from './context.js';
export type { Corkable } from './outbound.js';

/**
 * Runs one agent connection on `ws`.
 *
 * @param transport the TCP socket under `ws` (the upgrade request's socket: `req.raw.socket` in a
 *   @fastify/websocket handler). Given, the frames of one tick leave in one write; without it each
 *   frame is its own write (correct, but some 10% more hub CPU per cycle in `bench:dispatch`).
 */
export function handleAgentSocket(ws: WebSocket, deps: GatewayDeps, transport?: Corkable, address: string | null = null): void {
  const session = new AgentSession(ws, deps, transport, address);
  ws.on('message', (data, isBinary) => session.onFrame(data as Buffer, isBinary));
  ws.on('close', () => session.onClose());
  ws.on('error', () => session.onSocketError());
}
