/**
 * MCP over streamable HTTP at /v1/mcp (docs/mcp.md), with the official SDK's transport. The
 * bearer token is checked by the REST auth hook like every route (action `mcp.use`); a session is
 * bound to the caller that opened it, so another token cannot use its id. Sessions end by the
 * client's DELETE, or after `IDLE_MS` without a request; at most `MAX_SESSIONS` are open (the
 * oldest idle one goes first). Answers are JSON, not an SSE stream (no tool sends progress), so
 * GET (the server-to-client stream) is 405, which the spec lets a client expect.
 */
import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorBody } from '../../shared/errors.js';
import { Ref } from '../../shared/schema.js';
import { callerOf } from '../api/auth-hook.js';
import { answer, withErrors } from '../api/validation.js';
import { createMcpServer } from '../mcp/server.js';
import type { Principal } from '../service/access.js';
import type { Services } from '../service/index.js';
import { feature, onStop } from './feature.js';

const IDLE_MS = 30 * 60_000;
const MAX_SESSIONS = 256;
const VERSION = '0.1.0';
const SESSION_HEADER = 'mcp-session-id';

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  caller: Principal;
  lastUsed: number;
}

export interface McpFeatureOptions {
  services: Services;
  log: Logger;
}

const error = Ref(ErrorBody);
const JsonRpc = Type.Unknown({ description: 'A JSON-RPC 2.0 message or batch (the MCP streamable HTTP transport)' });

export const mcpFeature = feature<McpFeatureOptions>('mcp', async (app: FastifyInstance, { services, log }) => {
  const sessions = new Map<string, Session>();

  const same = (a: Principal, b: Principal) => a.kind === b.kind && a.actor === b.actor;
  const drop = (id: string) => {
    const s = sessions.get(id);
    if (!s) return;
    sessions.delete(id);
    void s.server.close().catch(() => undefined);
  };
  const trim = (now: number) => {
    for (const [id, s] of sessions) if (now - s.lastUsed > IDLE_MS) drop(id);
    while (sessions.size >= MAX_SESSIONS) {
      const oldest = [...sessions.entries()].sort((x, y) => x[1].lastUsed - y[1].lastUsed)[0];
      if (!oldest) break;
      drop(oldest[0]);
    }
  };
  const refuse = (reply: FastifyReply, status: number, code: string, message: string) => reply.status(status).send({ code, message, retryable: false });

  /** The session a request names, if it is the caller's; answers the refusal itself otherwise. */
  const sessionOf = (req: FastifyRequest, reply: FastifyReply): Session | null => {
    const id = req.headers[SESSION_HEADER];
    const s = typeof id === 'string' ? sessions.get(id) : undefined;
    if (!s) {
      void refuse(reply, 404, 'MCP_SESSION_NOT_FOUND', 'no such MCP session (it ended or the hub restarted): initialize a new one');
      return null;
    }
    if (!same(s.caller, callerOf(req))) {
      void refuse(reply, 403, 'FORBIDDEN', 'this MCP session belongs to another token');
      return null;
    }
    s.lastUsed = Date.now();
    return s;
  };

  app.post(
    '/v1/mcp',
    {
      config: { action: 'mcp.use' },
      schema: {
        summary: 'MCP (streamable HTTP): initialize a session without mcp-session-id, then send its requests with it (docs/mcp.md)',
        body: JsonRpc,
        response: withErrors({ 200: answer('The JSON-RPC answer', JsonRpc) }, error),
      },
    },
    async (req, reply) => {
      let s: Session | null;
      if (req.headers[SESSION_HEADER] === undefined) {
        trim(Date.now());
        const caller = callerOf(req);
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          enableJsonResponse: true,
          onsessioninitialized: (id) => {
            sessions.set(id, session);
          },
          onsessionclosed: (id) => {
            sessions.delete(id);
          },
        });
        const server = createMcpServer({ services, caller, log, version: VERSION });
        const session: Session = { transport, server, caller, lastUsed: Date.now() };
        await server.connect(transport);
        s = session;
      } else {
        s = sessionOf(req, reply);
        if (!s) return reply;
      }
      reply.hijack();
      await s.transport.handleRequest(req.raw, reply.raw, req.body);
      return reply;
    },
  );

  app.delete(
    '/v1/mcp',
    {
      config: { action: 'mcp.use' },
      schema: { summary: 'End an MCP session (mcp-session-id)', response: withErrors({ 200: answer('Ended', JsonRpc) }, error) },
    },
    async (req, reply) => {
      const s = sessionOf(req, reply);
      if (!s) return reply;
      reply.hijack();
      await s.transport.handleRequest(req.raw, reply.raw);
      drop(req.headers[SESSION_HEADER] as string);
      return reply;
    },
  );

  app.get(
    '/v1/mcp',
    {
      config: { action: 'mcp.use' },
      schema: { summary: 'MCP server-to-client stream: not offered (405); answers come with each POST', response: withErrors({}, error) },
    },
    async (_req, reply) => reply.status(405).header('allow', 'POST, DELETE').send({ code: 'MCP_STREAM_NOT_OFFERED', message: 'this hub answers MCP requests in their POST; there is no separate stream', retryable: false }),
  );

  onStop(app, () => {
    for (const id of [...sessions.keys()]) drop(id);
  });
});
