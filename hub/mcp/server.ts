/**
 * One MCP server per session (docs/mcp.md): the tools of hub/mcp/tools.ts, bound to the caller
 * whose token opened the session. Each call is checked against the scope table first
 * (hub/mcp/scopes.ts), runs its service method with the MCP client as the actor
 * (`<actor> via mcp:<client name>`), and answers its result as JSON text, or a tool error whose
 * text is the hub's `{code, message, retryable, details}` (the services' stable codes).
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Logger } from 'pino';
import { SwitchyardError, toWireError } from '../../shared/errors.js';
import type { Principal } from '../service/access.js';
import type { Services } from '../service/index.js';
import { mayCall, TOOL_SCOPES, type ToolName } from './scopes.js';
import { TOOLS } from './tools.js';

export const MCP_SERVER_NAME = 'switchyard';

export interface McpSessionOptions {
  services: Services;
  caller: Principal;
  log: Logger;
  version: string;
}

export function createMcpServer({ services, caller, log, version }: McpSessionOptions): McpServer {
  const server = new McpServer({ name: MCP_SERVER_NAME, version }, { capabilities: { tools: {} } });
  for (const name of Object.keys(TOOLS) as ToolName[]) {
    const def = TOOLS[name];
    server.registerTool(name, { description: `[${TOOL_SCOPES[name]}] ${def.description}`, inputSchema: def.input }, async (args: Record<string, unknown>) => {
      const client = clientName(server);
      const actor = viaMcp(caller, client);
      // An MCP worker has no socket the registry could watch: its calls are its presence.
      if (caller.kind === 'agent') services.presence.note(caller.agentId);
      try {
        if (!mayCall(caller, name)) {
          throw new SwitchyardError('FORBIDDEN', `${name} needs the ${TOOL_SCOPES[name]} scope: ${TOOL_SCOPES[name] === 'worker' ? 'an agent token' : 'the admin token'}`, {
            tool: name,
            scope: TOOL_SCOPES[name],
          });
        }
        const out = await def.run({ services, caller: actor }, args);
        log.info({ tool: name, actor: actor.actor, client }, 'mcp tool call');
        return { content: [{ type: 'text' as const, text: JSON.stringify(out) }] };
      } catch (err) {
        const wire = toWireError(err);
        if (wire.code === 'INTERNAL') log.error({ err, tool: name, actor: actor.actor }, 'mcp tool failed');
        else log.info({ tool: name, actor: actor.actor, client, code: wire.code }, 'mcp tool refused');
        return { isError: true, content: [{ type: 'text' as const, text: JSON.stringify(wire) }] };
      }
    });
  }
  return server;
}

/** The client's name from its initialize (`clientInfo.name`), safe for the audit log. */
function clientName(server: McpServer): string {
  const name = server.server.getClientVersion()?.name ?? 'unknown';
  return name.replace(/[^A-Za-z0-9._@-]/g, '_').slice(0, 64) || 'unknown';
}

/** The caller, with the MCP client in its actor: every change it makes is recorded so. */
export function viaMcp(caller: Principal, client: string): Principal {
  // The admin principal's actor is typed 'admin'; the audit log only stores it as text.
  return { ...caller, actor: `${caller.actor} via mcp:${client}` } as Principal;
}
