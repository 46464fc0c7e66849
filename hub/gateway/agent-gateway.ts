/**
 * One sidecar's WebSocket: hello and authentication, then accept / reject / progress / complete /
 * fail / heartbeat, each checked against the protocol schema and acted on only for this agent's
 * own leases (the store fences by generation and lease holder with the authenticated agent id,
 * never an id taken from the message).
 *
 * Messages are handed to the store in the order they arrive (the store's serial path keeps that
 * order) without waiting for the previous answer, so one busy sidecar gets group commit too.
 */
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { SwitchyardError, toWireError } from '../../shared/errors.js';
import {
  parseSidecarMessage,
  PROTOCOL_VERSION,
  type HubMessage,
  type SidecarMessage,
  type SidecarMessageOf,
} from '../../shared/protocol.js';
import type { Task } from '../../shared/task.js';
import type { AgentConnection, AgentRegistry, LiveAgent } from '../agents/registry.js';
import { tokenMatches } from '../auth/tokens.js';
import type { AgentStore } from '../store/agent-store.js';
import type { TaskStore } from '../store/task-store.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { CLOSE } from './close-codes.js';
import type { Feed } from './feed.js';
import type { ProgressTails } from './progress-tail.js';

export interface GatewayDeps {
  store: TaskStore;
  agents: AgentStore;
  registry: AgentRegistry;
  scheduler: Scheduler;
  feed: Feed;
  progress: ProgressTails;
  log: Logger;
  heartbeatMs: number;
  /** Time a new socket has to send a valid hello. @defaultValue 10000 */
  helloTimeoutMs?: number;
  now: () => number;
}

/** Bad frames a connection may send before it is closed. */
const MAX_ERRORS = 50;
/**
 * How long a socket the hub closed may take to answer the close frame before it is cut. Nothing
 * it sends meanwhile is acted on; without the cut, ws waits 30 s for a peer that ignores it.
 */
const CLOSE_GRACE_MS = 1_000;

export function handleAgentSocket(ws: WebSocket, deps: GatewayDeps): void {
  const { store, registry, scheduler, log } = deps;
  let agent: LiveAgent | null = null;
  /** Set once the registry holds this connection (before reconciliation ends), so a close then still disconnects it. */
  let registeredId: string | null = null;
  let helloStarted = false;
  /** Set when the hub closes this connection (removed, replaced, refused): it is not listened to any more. */
  let closing = false;
  let errors = 0;
  const early: Array<SidecarMessage> = [];
  const lastSeq = new Map<string, number>();

  // Frames sent in one tick (acks of one group commit, assignments) leave in one write to the
  // socket instead of one system call each.
  const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
  let corked = false;
  const conn: AgentConnection = {
    send(message: HubMessage) {
      if (ws.readyState !== ws.OPEN) return;
      if (socket && !corked) {
        corked = true;
        socket.cork();
        process.nextTick(() => {
          corked = false;
          socket.uncork();
        });
      }
      ws.send(JSON.stringify(message));
    },
    close(code, reason) {
      if (closing) return;
      closing = true;
      // Out of the registry now, not when the peer answers: no offer goes to it meanwhile.
      if (registeredId !== null) registry.disconnect(registeredId, conn);
      ws.close(code, reason);
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    },
  };

  const sendError = (err: unknown, id?: string) => {
    const wire = toWireError(err);
    if (wire.code === 'INTERNAL') log.error({ err, agent_id: agent?.id }, 'agent message failed');
    conn.send({ type: 'error', ...(id !== undefined ? { id } : {}), ...wire });
  };

  const helloTimer = setTimeout(() => {
    if (agent) return;
    sendError(new SwitchyardError('PROTOCOL_NOT_READY', 'no hello received in time'));
    conn.close(CLOSE.NO_HELLO, 'no hello');
  }, deps.helloTimeoutMs ?? 10_000);
  helloTimer.unref();

  ws.on('message', (data, isBinary) => {
    if (closing) return;
    let msg: SidecarMessage;
    try {
      if (isBinary) throw new SwitchyardError('PROTOCOL_INVALID_JSON', 'binary frames are not part of the protocol');
      msg = parseSidecarMessage(data as Buffer);
    } catch (err) {
      errors++;
      const id = (err as SwitchyardError).details as { id?: string } | undefined;
      sendError(err, id?.id);
      if (errors >= MAX_ERRORS) conn.close(CLOSE.TOO_MANY_ERRORS, 'too many bad frames');
      return;
    }
    if (msg.type === 'hello') {
      if (helloStarted) {
        sendError(new SwitchyardError('VALIDATION_FAILED', 'hello was already received on this connection'));
        return;
      }
      helloStarted = true;
      void onHello(msg).catch((err) => {
        sendError(err);
        conn.close(CLOSE.UNAUTHORIZED, 'hello failed');
      });
      return;
    }
    if (!helloStarted) {
      sendError(new SwitchyardError('PROTOCOL_NOT_READY', 'send hello first'), 'id' in msg ? msg.id : undefined);
      conn.close(CLOSE.NO_HELLO, 'no hello');
      return;
    }
    if (!agent) {
      early.push(msg);
      return;
    }
    dispatch(agent, msg);
  });

  ws.on('close', () => {
    clearTimeout(helloTimer);
    // A socket that closes while its hello is still being reconciled is registered already:
    // without this the registry would keep a dead connection and offer it work.
    if (registeredId !== null) {
      registry.disconnect(registeredId, conn);
      log.info({ agent_id: registeredId }, 'agent disconnected');
    }
  });

  async function onHello(hello: SidecarMessageOf<'hello'>): Promise<void> {
    if (hello.protocol !== PROTOCOL_VERSION) {
      sendError(
        new SwitchyardError(
          'PROTOCOL_VERSION_MISMATCH',
          `hub speaks protocol ${PROTOCOL_VERSION}, sidecar sent ${hello.protocol}; upgrade the older side`,
          { hub: PROTOCOL_VERSION, sidecar: hello.protocol },
        ),
      );
      conn.close(CLOSE.PROTOCOL_VERSION, 'protocol version mismatch');
      return;
    }
    const record = await deps.agents.get(hello.agent_id);
    if (!record || !tokenMatches(hello.token, record.token_hash)) {
      log.warn({ agent_id: hello.agent_id }, 'agent failed authentication');
      sendError(new SwitchyardError('UNAUTHORIZED', 'unknown agent or wrong token'));
      conn.close(CLOSE.UNAUTHORIZED, 'unauthorized');
      return;
    }
    if (closing || ws.readyState !== ws.OPEN) return;
    const { agent: live, previous } = registry.connect(
      hello.agent_id,
      conn,
      {
        capabilities: hello.capabilities,
        repos: hello.repos ?? null,
        executors: hello.executors,
        maxConcurrency: hello.max_concurrency,
        resources: hello.resources,
      },
      deps.now(),
    );
    registeredId = live.id;
    if (previous) previous.close(CLOSE.REPLACED, 'replaced by a newer connection of the same agent');
    conn.send({ type: 'welcome', protocol: PROTOCOL_VERSION, agent_id: live.id, heartbeat_ms: deps.heartbeatMs });
    log.info({ agent_id: live.id, in_flight: hello.in_flight.length }, 'agent connected');
    // A reconnecting agent's old offers and refusals are void: it says afresh what it holds.
    scheduler.forgetRefusals(live.id);
    await reconcile(live, hello.in_flight);
    if (closing || ws.readyState !== ws.OPEN) return; // closed (and disconnected) while reconciling
    agent = live;
    registry.markReady(live);
    for (const m of early.splice(0)) dispatch(live, m);
    void scheduler.fill(live);
  }

  /** After a (re)connect: resume what both sides agree on, drop the rest, reclaim what the sidecar lost. */
  async function reconcile(live: LiveAgent, inFlight: SidecarMessageOf<'hello'>['in_flight']): Promise<void> {
    const held = new Map((await store.leasedBy(live.id)).map((t) => [t.id, t]));
    for (const item of inFlight) {
      const task = held.get(item.task_id);
      // Only a matching generation is the sidecar's: a lease it lists at another generation is
      // one it does not have, so it stays in `held` and is reclaimed below like an unlisted one.
      if (task?.generation === item.generation) held.delete(item.task_id);
      if (!task || task.generation !== item.generation) {
        conn.send({ type: 'task.drop', task_id: item.task_id, generation: item.generation, reason: task ? 'superseded by a newer assignment' : 'no longer leased to this agent' });
        continue;
      }
      try {
        const renewed = await store.renew(task.id, task.generation, live.id);
        conn.send({ type: 'task.resume', task_id: task.id, generation: task.generation, task: renewed as unknown as Record<string, unknown> });
      } catch (err) {
        conn.send({ type: 'task.drop', task_id: task.id, generation: item.generation, reason: toWireError(err).message });
      }
    }
    for (const task of held.values()) {
      // The hub leased it to this agent, but the sidecar does not have it (it crashed before
      // saving it): give it back now rather than waiting for the lease to expire.
      try {
        if (task.status === 'assigned') await store.release(task.id, task.generation, live.id, 'agent reconnected without it');
        else await store.fail(task.id, task.generation, live.id, { code: 'AGENT_LOST_TASK', message: 'the agent reconnected without this task', retryable: true });
      } catch (err) {
        log.warn({ err, task_id: task.id, agent_id: live.id }, 'reclaiming a lost task failed');
      }
    }
  }

  function answer(id: string, work: Promise<unknown>): void {
    work.then(
      () => conn.send({ type: 'ack', id }),
      (err) => sendError(err, id),
    );
  }

  function dispatch(live: LiveAgent, msg: SidecarMessage): void {
    switch (msg.type) {
      case 'heartbeat':
        registry.heartbeat(live, msg.resources, msg.executors, msg.draining ?? false, deps.now());
        // New executors or models may make tasks it refused runnable now.
        if (msg.executors) scheduler.forgetRefusals(live.id);
        for (const t of msg.tasks) {
          // An offer is not renewed: the accept timeout (start_ms) must be able to take it back
          // from a sidecar that holds it without ever accepting.
          if (live.leases.get(t.task_id)?.status === 'assigned') continue;
          store.renew(t.task_id, t.generation, live.id).catch((err) => {
            const code = toWireError(err).code;
            if (code === 'STALE_GENERATION' || code === 'NOT_LEASE_HOLDER' || code === 'TASK_NOT_FOUND') {
              conn.send({ type: 'task.drop', task_id: t.task_id, generation: t.generation, reason: toWireError(err).message });
            }
          });
        }
        if (!live.draining) void scheduler.fill(live);
        return;
      case 'task.accept':
        answer(msg.id, store.accept(msg.task_id, msg.generation, live.id));
        return;
      case 'task.reject':
        // BUSY and DRAINING say nothing about the task: offer it to this agent again later. BUSY
        // does say the agent counts a slot we think is free (a task still stopping): no more
        // offers until its next heartbeat, or it would bounce in a tight offer/reject loop.
        if (msg.code === 'BUSY') live.holdOff = true;
        else if (msg.code !== 'DRAINING') scheduler.refuse(msg.task_id, live.id);
        // SIDECAR_EXECUTOR_UNAVAILABLE is a host fault (the executor or model is not usable on
        // that host): the task goes elsewhere with its attempts intact and the reason recorded.
        answer(
          msg.id,
          store.release(
            msg.task_id,
            msg.generation,
            live.id,
            `${msg.code}: ${msg.reason}`,
            msg.code === 'SIDECAR_EXECUTOR_UNAVAILABLE' ? { hostFault: { code: msg.code, message: `${live.id}: ${msg.reason}`, retryable: true } } : {},
          ),
        );
        return;
      case 'task.progress': {
        const lease = live.leases.get(msg.task_id);
        if (!lease || lease.generation !== msg.generation) {
          sendError(new SwitchyardError('STALE_GENERATION', `no lease on task ${msg.task_id} at generation ${msg.generation}`));
          return;
        }
        const key = `${msg.task_id}:${msg.generation}`;
        if (msg.seq <= (lastSeq.get(key) ?? 0)) return; // a repeat on this connection (a restarted sidecar starts again at 1 on a new one)
        lastSeq.set(key, msg.seq);
        deps.progress.append(msg.task_id, msg.generation, msg.data);
        deps.feed.publish({ type: 'task.progress', task_id: msg.task_id, generation: msg.generation, seq: msg.seq, agent_id: live.id, data: msg.data });
        return;
      }
      case 'task.complete':
        lastSeq.delete(`${msg.task_id}:${msg.generation}`);
        answer(msg.id, store.complete(msg.task_id, msg.generation, live.id, msg.result));
        return;
      case 'task.fail': {
        lastSeq.delete(`${msg.task_id}:${msg.generation}`);
        // details is an object by schema (a few keys at most in practice): merging is cheap.
        const details = msg.result === undefined ? msg.error.details : { ...msg.error.details, result: msg.result };
        const error = { code: msg.error.code, message: msg.error.message, retryable: msg.error.retryable, ...(details !== undefined ? { details } : {}) };
        if (msg.error.retry_after !== undefined) Object.assign(error, { retry_after: msg.error.retry_after });
        answer(msg.id, store.fail(msg.task_id, msg.generation, live.id, error));
        return;
      }
      case 'goodbye':
        live.draining = true;
        registry.heartbeat(live, live.resources!, undefined, true, deps.now());
        return;
      case 'hello':
        return;
    }
  }
}

