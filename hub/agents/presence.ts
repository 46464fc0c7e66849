/**
 * Agents that work without a sidecar socket: an MCP worker (docs/mcp.md) holds no connection the
 * registry could watch, so each of its calls is noted here, and the `agent_offline` alert counts
 * an agent as present while its last call is more recent than the alert's own bound. In memory:
 * after a restart an MCP agent is present again at its next call.
 */
export class AgentPresence {
  private readonly seen = new Map<string, number>();

  /** `now` is the hub's clock, the one the alert checks read. */
  constructor(private readonly now: () => number) {}

  note(agentId: string): void {
    this.seen.set(agentId, this.now());
  }

  /** When the agent last called the hub other than over its sidecar socket, or undefined. */
  lastSeen(agentId: string): number | undefined {
    return this.seen.get(agentId);
  }
}
