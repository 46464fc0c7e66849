/** REST: /v1/events — the audit log, oldest first, with a cursor. */
import type { FastifyInstance } from 'fastify';
import type { TaskStore } from '../store/task-store.js';
import { queryInt, queryString } from './http.js';

export function eventRoutes(app: FastifyInstance, store: TaskStore): void {
  app.get('/v1/events', async (req) => {
    const q = req.query as Record<string, unknown>;
    const page = await store.events({
      taskId: queryString(q, 'task'),
      after: queryString(q, 'after'),
      since: queryInt(q, 'since', 0, 8_640_000_000_000_000),
      limit: queryInt(q, 'limit', 1, 1000) ?? 100,
    });
    return { events: page.items, next: page.next };
  });
}
