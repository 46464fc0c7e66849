/**
 * `switchyard mcp` — the hub's MCP server on stdio, for clients that start their servers as
 * processes (Claude Code's default). A thin relay with the SDK's own transports: JSON-RPC from
 * stdin goes to the hub's streamable HTTP endpoint (/v1/mcp), answers come back on stdout. The
 * tools, their scopes and the audit all stay in the hub (hub/mcp/); this process holds nothing
 * but the session. The token comes from the environment, not argv (argv shows in `ps`).
 */
import { parseArgs } from 'node:util';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { CliError, DEFAULT_HUB, resolveToken } from '../client.js';

export const MCP_HELP = `Usage: switchyard mcp [--hub URL] [--data DIR]

Serves the hub's MCP tools on stdio (docs/mcp.md), relaying to the hub's /v1/mcp. For Claude Code:

  claude mcp add switchyard -e SWITCHYARD_MCP_TOKEN=<agent token> -- switchyard mcp --hub http://127.0.0.1:7070

An agent token gives the worker tools (claim_task, renew_lease, ask_clarification, check_task_status,
submit_for_review, submit_for_review_with_evidence, get_task_history); the admin token gives the
architect tools (create_task, respond_to_blocker, approve_work, reject_work) and the admin tools
(requeue_task, force_unblock, cancel_task, sweep_stale_leases). Clients that speak streamable HTTP
can skip this relay: POST http://HUB/v1/mcp with Authorization: Bearer <token>.

Options:
  --hub URL     The hub (default $SWITCHYARD_HUB or ${DEFAULT_HUB})
  --data DIR    A local hub's data folder, for its admin.token when no token is set
  -h, --help    Show this help

Token: $SWITCHYARD_MCP_TOKEN, else $SWITCHYARD_ADMIN_TOKEN, else DIR/admin.token.
Logs go to stderr; stdout carries only MCP messages.
`;

export async function mcpCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { hub: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(MCP_HELP);
    return;
  }
  const base = (values.hub ?? process.env.SWITCHYARD_HUB ?? DEFAULT_HUB).replace(/\/$/, '');
  const token = process.env.SWITCHYARD_MCP_TOKEN || resolveToken(values.data ? { data: values.data } : {});
  if (!token) throw new CliError('no token: set SWITCHYARD_MCP_TOKEN (an agent token for worker tools, the admin token for the rest)', 2);

  const hub = new StreamableHTTPClientTransport(new URL(`${base}/v1/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  const stdio = new StdioServerTransport();
  const initializing = new Set<string | number>();

  stdio.onmessage = (msg: JSONRPCMessage) => {
    if ('method' in msg && msg.method === 'initialize' && 'id' in msg) initializing.add(msg.id);
    hub.send(msg).catch((err: Error) => {
      process.stderr.write(`switchyard mcp: the hub at ${base} failed: ${err.message}\n`);
      // A request must get an answer, or the client waits for ever.
      if ('method' in msg && 'id' in msg) void stdio.send({ jsonrpc: '2.0', id: msg.id, error: { code: -32000, message: `switchyard hub at ${base}: ${err.message}` } });
    });
  };
  hub.onmessage = (msg: JSONRPCMessage) => {
    // The protocol version the hub agreed goes on every later request, as the SDK's client does.
    if ('id' in msg && 'result' in msg && initializing.delete(msg.id)) {
      const version = (msg.result as { protocolVersion?: unknown }).protocolVersion;
      if (typeof version === 'string') hub.setProtocolVersion(version);
    }
    void stdio.send(msg);
  };
  hub.onerror = (err) => process.stderr.write(`switchyard mcp: ${err.message}\n`);

  const done = new Promise<void>((resolve) => {
    stdio.onclose = () => resolve();
  });
  await hub.start();
  await stdio.start();
  await done;
  await hub.terminateSession().catch(() => undefined);
  await hub.close();
}
