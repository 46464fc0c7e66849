/**
 * The live feed: `GET /v1/feed` (WebSocket; the admin token in the header, a `bearer.<token>`
 * subprotocol (browsers: the hub answers `switchyard.v1`), or `?token=` for CLIs) and what
 * it sends: a hello with the agents and the queue's counts, then every durable task change, agent
 * change, alert and store-health change from the bus, and progress (which the agent gateway
 * publishes itself). Messages are shared/feed.ts's `FeedMessage`.
 */
import { Type } from '@sinclair/typebox';
import type { AgentRegistry } from '../agents/registry.js';
import { ErrorBody } from '../../shared/errors.js';
import { FEED_BATCH_PROTOCOL } from '../../shared/feed.js';
import { FeedQuery } from '../../shared/rest.js';
import { Ref } from '../../shared/schema.js';
import { withErrors } from '../api/validation.js';
import type { Feed } from '../gateway/feed.js';
import type { Pinger } from '../gateway/pinger.js';
import type { HubBus } from '../service/bus.js';
import type { Services } from '../service/index.js';
import type { TaskStore } from '../store/task-store.js';
import { feature, onStop } from './feature.js';
import type { WebSocket } from 'ws';
import { endedBy, type Principal } from '../auth/authenticator.js';
import { CLOSE } from '../gateway/close-codes.js';

export interface FeedFeatureOptions {
  feed: Feed;
  bus: HubBus;
  registry: AgentRegistry;
  services: Services;
  pinger: Pinger;
  /** Where the feed learns which changes are applied but not yet durable (their counts are in a snapshot before their frame comes). */
  store: TaskStore;
}

/** Applied-not-durable events remembered at most (a failed batch's never commit: the oldest go). */
const PENDING_MAX = 10_000;

export const feedFeature = feature<FeedFeatureOptions>('feed', async (app, { feed, bus, registry, services, pinger, store }) => {
  const holders = new Map<WebSocket, Principal>();
  // The counts a hello carries are the store's in-memory ones: they include changes applied but
  // not yet durable, whose frames come after the hello. The hello names those events (`counted`)
  // so a page does not count them twice (docs/dashboard.md).
  const pending = new Set<string>();
  const offApplied = store.supports.onApplied && store.onApplied
    ? store.onApplied(({ event }) => {
        if (!event) return;
        if (pending.size >= PENDING_MAX) pending.delete(pending.values().next().value!);
        pending.add(event.id);
      })
    : null;
  app.get(
    '/v1/feed',
    {
      websocket: true,
      config: { action: 'feed.read', tokenInQuery: true },
      schema: {
        summary: 'The live feed (WebSocket): a hello, then task changes, agent changes, progress, alerts (FeedMessage frames)',
        querystring: FeedQuery,
        response: withErrors({ 101: Type.Null({ description: 'Switching to the WebSocket protocol; the hub then sends FeedMessage frames' }) }, Ref(ErrorBody)),
      },
    },
    async (socket, req) => {
      pinger.track(socket);
      // Remembered, so a revoked token's (or a rotated admin token's) feeds can be closed at once.
      const who = req.principal;
      if (who) {
        holders.set(socket, who);
        socket.once('close', () => holders.delete(socket));
      }
      // The counts and what they already hold are taken together (the store computes stats at the call).
      const reading = services.tasks.stats();
      const counted = [...pending];
      const stats = await reading;
      // The snapshot first, then changes; a socket that closed while the counts were read gets nothing.
      if (socket.readyState === socket.OPEN) feed.add(socket, { type: 'hello', agents: services.agents.live(), stats, ...(counted.length ? { counted } : {}) }, req.raw.socket, socket.protocol === FEED_BATCH_PROTOCOL ? 'batch' : 'single');
    },
  );

  // Nothing is built for a feed nobody follows.
  const offs = [
    services.access.onRevoked((revoked) => {
      for (const [socket, who] of holders) if (endedBy(who, revoked)) socket.close(CLOSE.TOKEN_REVOKED, 'the token this feed opened with was revoked');
    }),
    bus.on('task.changed', ({ task, event, json }) => {
      pending.delete(event.id);
      if (feed.size === 0) return;
      // The text the store wrote to disk, when it says so: the same JSON, not serialized again.
      if (json) feed.publishJson(`{"type":"task.changed","task":${json.task},"event":${json.event}}`);
      else feed.publish({ type: 'task.changed', task, event });
    }),
    bus.on('agent.changed', (agent) => {
      // The newest view per agent per turn (a batch moves an agent through several states at once).
      if (feed.size > 0) feed.publishLatest(`agent:${agent.id}`, () => ({ type: 'agent.changed', agent: registry.view(agent) }));
    }),
    bus.on('alert', (alert) => feed.publish({ type: 'alert', alert })),
    bus.on('alert.changed', (alert) => feed.publish({ type: 'alert.changed', alert })),
    bus.on('store.health', ({ healthy, at, reason }) => feed.publish({ type: 'store.health', healthy, at, ...(reason ? { reason } : {}) })),
  ];
  onStop(app, () => {
    offApplied?.();
    for (const off of offs) off();
    feed.closeAll();
  });
});
