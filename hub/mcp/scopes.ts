/**
 * Which caller may call which MCP tool (docs/mcp.md): ONE table, tool -> scope, and scope -> the
 * roles that hold it (docs/security.md): the worker scope is an agent's token (on its own leases
 * only), the architect scope an operator's or admin's, the admin scope an admin's.
 */
import type { Principal } from '../service/access.js';

export const MCP_SCOPES = ['worker', 'architect', 'admin'] as const;
export type McpScope = (typeof MCP_SCOPES)[number];

export const TOOL_SCOPES = {
  claim_task: 'worker',
  renew_lease: 'worker',
  ask_clarification: 'worker',
  check_task_status: 'worker',
  submit_for_review: 'worker',
  submit_for_review_with_evidence: 'worker',
  get_task_history: 'worker',
  create_task: 'architect',
  respond_to_blocker: 'architect',
  approve_work: 'architect',
  reject_work: 'architect',
  requeue_task: 'admin',
  force_unblock: 'admin',
  cancel_task: 'admin',
  sweep_stale_leases: 'admin',
} as const satisfies Record<string, McpScope>;

export type ToolName = keyof typeof TOOL_SCOPES;

/** The roles that hold each scope. */
export const SCOPE_HOLDERS: Record<McpScope, ReadonlyArray<Principal['kind']>> = {
  worker: ['agent'],
  architect: ['admin', 'operator'],
  admin: ['admin'],
};

export function mayCall(caller: Principal, tool: ToolName): boolean {
  return SCOPE_HOLDERS[TOOL_SCOPES[tool]].includes(caller.kind);
}
