/**
 * What the pieces of an agent connection share: the gateway's dependencies, and the session the
 * handshake and the message handlers act on. Types only, so handshake.ts and handlers.ts need
 * not import the session that uses them.
 */
import type { Logger } from 'pino';
import type { AgentRegistry, LiveAgent } from '../agents/registry.js';
import type { AgentStore } from '../store/agent-store.js';
import type { TaskStore } from '../store/task-store.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Feed } from './feed.js';
import type { Outbound } from './outbound.js';
import type { ProgressTails } from './progress-tail.js';
import type { WorkflowService } from '../service/workflow.js';
import type { FrameWindow, RateLimits } from '../edge/rate-limits.js';
import type { Violations } from '../edge/violations.js';

export interface GatewayDeps {
  store: TaskStore;
  agents: AgentStore;
  registry: AgentRegistry;
  scheduler: Scheduler;
  feed: Feed;
  progress: ProgressTails;
  log: Logger;
  heartbeatMs: number;
  /** The hub's ping interval, told to the sidecar in `welcome` (`ping_ms`). @defaultValue 15000 (HubConfig.pingMs) */
  pingMs?: number;
  /** Time a new socket has to send a valid hello. @defaultValue 10000 */
  helloTimeoutMs?: number;
  now: () => number;
  /** The review workflow's agent actions (`task.ask`); without it a question is refused. @defaultValue none */
  workflow?: Pick<WorkflowService, 'ask'>;
  /** Messages per second per agent socket (hub/edge/rate-limits.ts). @defaultValue no limit */
  limits?: Pick<RateLimits, 'wsBudget' | 'onRefused'>;
  /** Refused frames per agent and address, and who is kept out (hub/edge/violations.ts). @defaultValue 50 per connection, no wait */
  violations?: Violations;
}

/** One agent connection, as the handshake and the handlers see it. */
export interface Session {
  readonly deps: GatewayDeps;
  readonly conn: Outbound;
  /** The gateway's logger until the hello named an agent, then a child with its `agent_id`. */
  log: Logger;
  /** Set once the registry holds this connection (before reconciliation ends), so a close then still disconnects it. */
  registeredId: string | null;
  /** Its messages-per-second window; the handshake sets the agent's own budget once it is known. */
  readonly frames: FrameWindow;
  /** The last progress `seq` relayed per `task:generation` on this connection. */
  readonly lastSeq: Map<string, number>;
  /** Sends `error` (with `id` when it answers a message); an INTERNAL one is logged. */
  sendError(err: unknown, id?: string): void;
  /** Answers message `id` with `ack` once `work` is done, or `error` if it failed. */
  answer(id: string, work: Promise<unknown>): void;
  /** Reconciliation is done: handle what arrived meanwhile, then every message as it comes. */
  becomeReady(live: LiveAgent): void;
}
