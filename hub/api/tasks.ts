/** REST: /v1/tasks — create (one or a batch), list, show with events, cancel, retry, review. */
import type { FastifyInstance } from 'fastify';
import { SwitchyardError } from '../../shared/errors.js';
import { LANES, TASK_STATUSES, type TaskSpec } from '../../shared/task.js';
import type { TaskStore } from '../store/task-store.js';
import { objectBody, queryInt, queryString } from './http.js';
import { withRoutingCapabilities } from './routing.js';
import { validateSpec } from '../queue/normalize.js';
import type { Principal } from '../auth/authenticator.js';
import type { ProgressTails } from '../gateway/progress-tail.js';
import type { AgentRegistry } from '../agents/registry.js';
import { waitingReason } from '../scheduler/waiting-reason.js';

const MAX_BATCH = 1000;

/**
 * The spec a body asks for: validated first against the one task schema, then the routing
 * capabilities derived from the valid spec (deriving from an unchecked body turned
 * `capabilities: 5` into a 500 and `"gpu"` into `["g","p","u"]`).
 */
function specOf(body: unknown, idempotencyHeader: string | undefined, where: string): TaskSpec {
  let raw = objectBody(body);
  if (idempotencyHeader !== undefined) {
    if (raw.idempotency_key !== undefined && raw.idempotency_key !== idempotencyHeader) {
      throw new SwitchyardError('VALIDATION_FAILED', `${where}: Idempotency-Key header and body idempotency_key differ`);
    }
    raw = { ...raw, idempotency_key: idempotencyHeader };
  }
  return withRoutingCapabilities(validateSpec(raw, where));
}

export function taskRoutes(app: FastifyInstance, store: TaskStore, progress: ProgressTails, registry: AgentRegistry): void {
  app.post('/v1/tasks', async (req, reply) => {
    const header = req.headers['idempotency-key'];
    const key = Array.isArray(header) ? header[0] : header;
    const who = req.principal as Principal;
    const { task, created } = await store.create(specOf(req.body, key, 'task'), who.actor);
    return reply.status(created ? 201 : 200).send(task);
  });

  app.post('/v1/tasks/batch', async (req, reply) => {
    const body = objectBody(req.body);
    const tasks = body.tasks;
    if (!Array.isArray(tasks) || tasks.length === 0 || tasks.length > MAX_BATCH) {
      throw new SwitchyardError('VALIDATION_FAILED', `body.tasks must be an array of 1 to ${MAX_BATCH} tasks`);
    }
    const extra = Object.keys(body).filter((k) => k !== 'tasks');
    if (extra.length > 0) throw new SwitchyardError('VALIDATION_FAILED', `unknown field '${extra[0]}' in batch body`);
    const who = req.principal as Principal;
    const results = await store.createMany(tasks.map((t, i) => specOf(t, undefined, `tasks[${i}]`)), who.actor);
    const anyCreated = results.some((r) => r.created);
    return reply.status(anyCreated ? 201 : 200).send({ tasks: results.map((r) => r.task), created: results.map((r) => r.created) });
  });

  app.get('/v1/tasks', async (req) => {
    const q = req.query as Record<string, unknown>;
    const page = await store.list({
      status: queryString(q, 'status', TASK_STATUSES) as never,
      lane: queryString(q, 'lane', LANES) as never,
      repo: queryString(q, 'repo'),
      agent: queryString(q, 'agent'),
      after: queryString(q, 'after'),
      limit: queryInt(q, 'limit', 1, 1000) ?? 100,
    });
    return { tasks: page.items, next: page.next };
  });

  app.get('/v1/tasks/:id', async (req) => {
    const { id } = req.params as { id: string };
    const task = await store.get(id);
    if (!task) throw new SwitchyardError('TASK_NOT_FOUND', `no task ${id}`);
    const events = await store.events({ taskId: id, limit: 1000 });
    // Live output of the current attempt (not stored; the result keeps the final tail).
    const live = progress.get(id);
    const progressTail = live && task.lease?.generation === live.generation ? live.text : null;
    // A queued task says why it waits when no connected agent can run it (a host fault, say).
    return { task, events: events.items, progress_tail: progressTail, waiting: waitingReason(task, registry) };
  });

  const action = (path: string, run: (id: string, actor: string, body: Record<string, unknown>) => Promise<unknown>) =>
    app.post(`/v1/tasks/:id/${path}`, async (req) => {
      const { id } = req.params as { id: string };
      const body = objectBody(req.body);
      // Like every other body, an action's refuses fields it does not know (a typo is not ignored).
      const extra = Object.keys(body).filter((k) => k !== 'reason');
      if (extra.length > 0) throw new SwitchyardError('VALIDATION_FAILED', `unknown field '${extra[0]}' in ${path} body`);
      const reason = body.reason;
      if (reason !== undefined && (typeof reason !== 'string' || reason.length > 1000)) {
        throw new SwitchyardError('VALIDATION_FAILED', 'reason must be a string of at most 1000 characters');
      }
      return run(id, (req.principal as Principal).actor, body);
    });

  action('cancel', (id, actor, body) => store.cancel(id, actor, (body.reason as string | undefined) ?? 'cancelled by operator'));
  action('retry', (id, actor) => store.retry(id, actor));
  action('approve', (id, actor) => store.approve(id, actor));
  action('reject', (id, actor, body) => store.rejectReview(id, actor, (body.reason as string | undefined) ?? 'rejected in review'));
}
