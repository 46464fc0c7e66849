/**
 * What the hub does with each message of an authenticated agent, one handler per type. Each acts
 * only on this agent's own leases: the store fences by generation and lease holder with the
 * authenticated agent id (`live.id`), never an id taken from the message.
 *
 * Messages are handed to the store in the order they arrive (the store's serial path keeps that
 * order) without waiting for the previous answer, so one busy sidecar gets group commit too.
 */
import { SwitchyardError, toWireError } from '../../shared/errors.js';
import type { SidecarMessage, SidecarMessageOf } from '../../shared/protocol.js';
import type { LiveAgent } from '../agents/registry.js';
import type { Session } from './context.js';

type Type = Exclude<SidecarMessage['type'], 'hello'>;
type Handler<T extends Type> = (s: Session, live: LiveAgent, msg: SidecarMessageOf<T>) => void;

/** Codes of a failed renewal that mean "this lease is not yours": the sidecar is told to drop it. */
const NOT_YOURS = new Set(['STALE_GENERATION', 'NOT_LEASE_HOLDER', 'TASK_NOT_FOUND']);

export const HANDLERS: { [T in Type]: Handler<T> } = {
  heartbeat(s, live, msg) {
    const { registry, scheduler, store } = s.deps;
    registry.heartbeat(live, msg.resources, msg.executors, msg.draining ?? false, s.deps.now());
    // New executors or models may make tasks it refused runnable now.
    if (msg.executors) scheduler.forgetRefusals(live.id);
    for (const t of msg.tasks) {
      // An offer is not renewed: the accept timeout (start_ms) must be able to take it back from
      // a sidecar that holds it without ever accepting.
      if (live.leases.get(t.task_id)?.status === 'assigned') continue;
      store.renew(t.task_id, t.generation, live.id).catch((err) => {
        const wire = toWireError(err);
        if (NOT_YOURS.has(wire.code)) s.conn.send({ type: 'task.drop', task_id: t.task_id, generation: t.generation, reason: wire.message });
      });
    }
    if (!live.draining) void scheduler.fill(live);
  },

  'task.accept'(s, live, msg) {
    s.answer(msg.id, s.deps.store.accept(msg.task_id, msg.generation, live.id));
  },

  'task.reject'(s, live, msg) {
    // BUSY and DRAINING say nothing about the task: offer it to this agent again later. BUSY
    // does say the agent counts a slot we think is free (a task still stopping): no more offers
    // until its next heartbeat, or it would bounce in a tight offer/reject loop.
    if (msg.code === 'BUSY') live.holdOff = true;
    else if (msg.code !== 'DRAINING') s.deps.scheduler.refuse(msg.task_id, live.id);
    // SIDECAR_EXECUTOR_UNAVAILABLE is a host fault (the executor or model is not usable on that
    // host): the task goes elsewhere with its attempts intact and the reason recorded.
    const hostFault = msg.code === 'SIDECAR_EXECUTOR_UNAVAILABLE';
    s.answer(
      msg.id,
      s.deps.store.release(
        msg.task_id,
        msg.generation,
        live.id,
        `${msg.code}: ${msg.reason}`,
        hostFault ? { hostFault: { code: msg.code, message: `${live.id}: ${msg.reason}`, retryable: true } } : {},
      ),
    );
  },

  'task.progress'(s, live, msg) {
    const lease = live.leases.get(msg.task_id);
    if (!lease || lease.generation !== msg.generation) {
      // No id to answer; the details let a sidecar tell a leftover of a run it gave up from news.
      s.sendError(
        new SwitchyardError('STALE_GENERATION', `no lease on task ${msg.task_id} at generation ${msg.generation}`, {
          task_id: msg.task_id,
          generation: msg.generation,
        }),
      );
      return;
    }
    const key = `${msg.task_id}:${msg.generation}`;
    if (msg.seq <= (s.lastSeq.get(key) ?? 0)) return; // a repeat on this connection (a new connection starts again at 1)
    s.lastSeq.set(key, msg.seq);
    s.deps.progress.append(msg.task_id, msg.generation, msg.data);
    s.deps.feed.publish({ type: 'task.progress', task_id: msg.task_id, generation: msg.generation, seq: msg.seq, agent_id: live.id, data: msg.data });
  },

  'task.complete'(s, live, msg) {
    s.lastSeq.delete(`${msg.task_id}:${msg.generation}`);
    s.answer(msg.id, s.deps.store.complete(msg.task_id, msg.generation, live.id, msg.result));
  },

  'task.fail'(s, live, msg) {
    s.lastSeq.delete(`${msg.task_id}:${msg.generation}`);
    // details is an object by schema (a few keys at most in practice): merging is cheap.
    const details = msg.result === undefined ? msg.error.details : { ...msg.error.details, result: msg.result };
    const error = { code: msg.error.code, message: msg.error.message, retryable: msg.error.retryable, ...(details !== undefined ? { details } : {}) };
    // A usage limit's reset (ms since epoch) reaches the queue's backoff.
    if (msg.error.retry_after !== undefined) Object.assign(error, { retry_after: msg.error.retry_after });
    s.answer(msg.id, s.deps.store.fail(msg.task_id, msg.generation, live.id, error));
  },

  'task.ask'(s, live, msg) {
    s.lastSeq.delete(`${msg.task_id}:${msg.generation}`);
    const agent = { kind: 'agent' as const, actor: `agent:${live.id}`, agentId: live.id };
    const asked = s.deps.workflow
      ? s.deps.workflow.ask(agent, msg.task_id, msg.generation, msg.question)
      : Promise.reject(new SwitchyardError('PROTOCOL_UNKNOWN_TYPE', 'this hub takes no questions (task.ask)'));
    s.answer(msg.id, asked);
  },

  goodbye(s, live) {
    live.draining = true;
    s.deps.registry.heartbeat(live, live.resources!, undefined, true, s.deps.now());
  },
};

/** Hands a message of an agent that finished its handshake to its handler. */
export function dispatch(s: Session, live: LiveAgent, msg: SidecarMessage): void {
  if (msg.type === 'hello') return; // refused by the session before it gets here
  (HANDLERS[msg.type] as Handler<typeof msg.type>)(s, live, msg as never);
}
