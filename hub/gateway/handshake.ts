/**
 * The handshake of an agent connection: the hello's protocol version and token, registration
 * (replacing an older connection of the same agent), `welcome`, then reconciliation of what the
 * sidecar holds with what the hub leased to it (decided by reconcile.ts, applied here), and only
 * then work.
 */
import { SwitchyardError, toWireError } from '../../shared/errors.js';
import { PROTOCOL_VERSION, type SidecarMessageOf } from '../../shared/protocol.js';
import type { LiveAgent } from '../agents/registry.js';
import { tokenMatches } from '../auth/tokens.js';
import { HUB_DEFAULTS } from '../config.js';
import { CLOSE } from './close-codes.js';
import type { Session } from './context.js';
import { reconcile, type HeldLease } from './reconcile.js';

/** Closes a connection that sent no valid hello in time. @returns the timer, to clear on close. */
export function helloDeadline(s: Session, done: () => boolean): NodeJS.Timeout {
  const timer = setTimeout(() => {
    if (done()) return;
    s.sendError(new SwitchyardError('PROTOCOL_NOT_READY', 'no hello received in time'));
    s.conn.close(CLOSE.NO_HELLO, 'no hello');
  }, s.deps.helloTimeoutMs ?? 10_000);
  timer.unref();
  return timer;
}

/** Runs the handshake of a hello; the session becomes ready, or the connection is closed. */
export async function handshake(s: Session, hello: SidecarMessageOf<'hello'>): Promise<void> {
  const { deps, conn } = s;
  if (hello.protocol !== PROTOCOL_VERSION) {
    s.sendError(
      new SwitchyardError('PROTOCOL_VERSION_MISMATCH', `hub speaks protocol ${PROTOCOL_VERSION}, sidecar sent ${hello.protocol}; upgrade the older side`, {
        hub: PROTOCOL_VERSION,
        sidecar: hello.protocol,
      }),
    );
    conn.close(CLOSE.PROTOCOL_VERSION, 'protocol version mismatch');
    return;
  }
  const record = await deps.agents.get(hello.agent_id);
  if (!record || !tokenMatches(hello.token, record.token_hash)) {
    s.log.warn({ agent_id: hello.agent_id }, 'agent failed authentication');
    s.sendError(new SwitchyardError('UNAUTHORIZED', 'unknown agent or wrong token'));
    conn.close(CLOSE.UNAUTHORIZED, 'unauthorized');
    return;
  }
  if (conn.closing) return;
  // Kept out after too many violations: told how long, and closed before anything else happens.
  const out = deps.violations?.bannedFor(`agent:${hello.agent_id}`) ?? 0;
  if (out > 0) {
    s.sendError(new SwitchyardError('TOO_MANY_VIOLATIONS', `agent ${hello.agent_id} is kept out for ${Math.ceil(out / 1000)} s more after too many refused frames`, { retry_after_ms: out }));
    conn.close(CLOSE.COOLING_OFF, 'cooling off after too many refused frames');
    return;
  }
  const { agent: live, previous } = deps.registry.connect(
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
  s.registeredId = live.id;
  if (s.deps.limits) s.frames.setBudget(s.deps.limits.wsBudget(live.id));
  s.log = s.log.child({ agent_id: live.id });
  if (previous) previous.close(CLOSE.REPLACED, 'replaced by a newer connection of the same agent');
  conn.send({ type: 'welcome', protocol: PROTOCOL_VERSION, agent_id: live.id, heartbeat_ms: deps.heartbeatMs, ping_ms: deps.pingMs ?? HUB_DEFAULTS.pingMs });
  s.log.info({ in_flight: hello.in_flight.length }, 'agent connected');
  // A reconnecting agent's old offers and refusals are void: it says afresh what it holds.
  deps.scheduler.forgetRefusals(live.id);
  await applyReconciliation(s, live, hello.in_flight);
  if (conn.closing) return; // closed (and disconnected) while reconciling
  deps.registry.markReady(live);
  s.becomeReady(live);
  void deps.scheduler.fill(live);
}

/** After a (re)connect: resume what both sides agree on, drop the rest, reclaim what the sidecar lost. */
async function applyReconciliation(s: Session, live: LiveAgent, inFlight: SidecarMessageOf<'hello'>['in_flight']): Promise<void> {
  const { store } = s.deps;
  const held: HeldLease[] = (await store.leasedBy(live.id)).map((t) => ({ task_id: t.id, generation: t.generation, status: t.status as HeldLease['status'] }));
  for (const d of reconcile(inFlight, held)) {
    switch (d.action) {
      case 'resume':
        try {
          const renewed = await store.renew(d.task_id, d.generation, live.id);
          s.conn.send({ type: 'task.resume', task_id: d.task_id, generation: d.generation, task: renewed as unknown as Record<string, unknown> });
        } catch (err) {
          const wire = toWireError(err);
          // The store takes no writes for now (degraded mode): the lease on disk still holds, so the
          // sidecar keeps the task (and a result it holds) and renews or reports it later.
          const current = wire.retryable ? await store.get(d.task_id).catch(() => undefined) : undefined;
          if (current && current.generation === d.generation && current.lease?.agent_id === live.id) {
            s.conn.send({ type: 'task.resume', task_id: d.task_id, generation: d.generation, task: current as unknown as Record<string, unknown> });
          } else {
            s.conn.send({ type: 'task.drop', task_id: d.task_id, generation: d.generation, reason: wire.message });
          }
        }
        break;
      case 'drop':
        s.conn.send({ type: 'task.drop', task_id: d.task_id, generation: d.generation, reason: d.reason });
        break;
      case 'release':
      case 'fail':
        try {
          if (d.action === 'release') await store.release(d.task_id, d.generation, live.id, d.reason);
          else await store.fail(d.task_id, d.generation, live.id, { code: d.code, message: d.message, retryable: true });
        } catch (err) {
          s.log.warn({ err, task_id: d.task_id }, 'reclaiming a lost task failed');
        }
        break;
    }
  }
}
