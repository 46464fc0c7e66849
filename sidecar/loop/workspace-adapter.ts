/**
 * Adapts a prepared task workspace to what the loop needs: the folder, the test command, and a
 * submit bound to the manager (none for scratch workspaces, which have nothing to push).
 */
import type { WorkspaceManager, TaskWorkspace } from '../workspace/workspace-manager.js';
import type { LoopWorkspace } from './build-verify-fix.js';

export function loopWorkspace(manager: WorkspaceManager, ws: TaskWorkspace): LoopWorkspace {
  const lw: LoopWorkspace = { path: ws.path, testCommand: ws.testCommand, diffBase: ws.reviewBase, auditCommand: ws.repo?.audit_command ?? null };
  if (ws.repo) lw.submit = (info, signal) => manager.submit(ws, info, signal);
  return lw;
}
