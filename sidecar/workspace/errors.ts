/**
 * Errors the workspace throws: typed codes from shared/errors.ts's table.
 */
import { SwitchyardError, type ErrorCode } from '../../shared/errors.js';

export type WorkspaceErrorCode =
  | 'SIDECAR_REPO_UNKNOWN'
  | 'SIDECAR_GIT_FAILED'
  | 'SIDECAR_PUSH_REJECTED'
  | 'SIDECAR_WORKSPACE_BUSY'
  | 'SIDECAR_CONFIG_INVALID';

export function sidecarError(code: WorkspaceErrorCode, message: string, details: Record<string, unknown> = {}): SwitchyardError {
  return new SwitchyardError(code, message, details);
}

/** The code of a SwitchyardError (undefined for anything else). */
export function intendedCode(err: unknown): ErrorCode | undefined {
  return err instanceof SwitchyardError ? err.code : undefined;
}
