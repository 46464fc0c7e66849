/** `GET /v1/agent`: the sidecar socket (public: a sidecar authenticates by its hello), run by hub/gateway/agent-gateway.ts. */
import { Type } from '@sinclair/typebox';
import { handleAgentSocket, type GatewayDeps } from '../gateway/agent-gateway.js';
import type { Pinger } from '../gateway/pinger.js';
import { feature } from './feature.js';

export const agentSocketFeature = feature<{ deps: GatewayDeps; pinger: Pinger }>('agent-socket', async (app, { deps, pinger }) => {
  app.get(
    '/v1/agent',
    {
      websocket: true,
      config: { public: true },
      schema: {
        summary: 'The sidecar protocol (WebSocket; docs/protocol.md): hello with the agent token first',
        response: { 101: Type.Null({ description: 'Switching to the WebSocket protocol' }) },
      },
    },
    (socket, req) => {
      pinger.track(socket);
      // The upgrade's TCP socket, corked so that the frames of one tick leave in one write.
      handleAgentSocket(socket, deps, req.raw.socket, req.ip);
    },
  );
});
