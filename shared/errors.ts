/**
 * The one table of Switchyard's error codes. Codes are stable and cross the wire as
 * `{ code, message, retryable }`; messages may change. `status` is the HTTP status a REST
 * answer carries; `retryable` says whether sending the same request again can help.
 * docs/errors.md documents every code, and a test keeps the two in step.
 */
export const ERROR_CODES = {
  // Input
  VALIDATION_FAILED: { status: 400, retryable: false },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  DEPENDENCY_CYCLE: { status: 400, retryable: false },
  UNKNOWN_DEPENDENCY: { status: 400, retryable: false },
  DEPENDENCY_FAILED: { status: 409, retryable: false },
  LIMIT_EXCEEDED: { status: 409, retryable: false },
  // Task state
  TASK_NOT_FOUND: { status: 404, retryable: false },
  ILLEGAL_TRANSITION: { status: 409, retryable: false },
  STALE_GENERATION: { status: 409, retryable: false },
  NOT_LEASE_HOLDER: { status: 403, retryable: false },
  // Store
  STORE_CLOSED: { status: 503, retryable: true },
  STORE_FAILED: { status: 503, retryable: true },
  STORE_LOCKED: { status: 503, retryable: false },
  // Auth and protocol
  UNAUTHORIZED: { status: 401, retryable: false },
  FORBIDDEN: { status: 403, retryable: false },
  NOT_FOUND: { status: 404, retryable: false },
  RATE_LIMITED: { status: 429, retryable: true },
  PROTOCOL_VERSION_MISMATCH: { status: 400, retryable: false },
  PROTOCOL_INVALID_JSON: { status: 400, retryable: false },
  PROTOCOL_UNKNOWN_TYPE: { status: 400, retryable: false },
  PROTOCOL_NOT_READY: { status: 400, retryable: false },
  AGENT_NOT_FOUND: { status: 404, retryable: false },
  AGENT_EXISTS: { status: 409, retryable: false },
  AGENT_REPLACED: { status: 409, retryable: false },
  AGENT_OFFLINE: { status: 409, retryable: true },
  HUB_SHUTTING_DOWN: { status: 503, retryable: true },
  AGENT_LOST_TASK: { status: 409, retryable: true },
  // Sidecar (reported in task.reject / task.fail, and thrown inside the sidecar)
  SIDECAR_REPO_UNKNOWN: { status: 422, retryable: false },
  SIDECAR_EXECUTOR_UNAVAILABLE: { status: 422, retryable: false },
  SIDECAR_GIT_FAILED: { status: 500, retryable: true },
  SIDECAR_PUSH_REJECTED: { status: 409, retryable: true },
  SIDECAR_WORKSPACE_BUSY: { status: 409, retryable: false },
  SIDECAR_CONFIG_INVALID: { status: 400, retryable: false },
  SIDECAR_PATH_ESCAPE: { status: 403, retryable: false },
  // Onboarding (join tokens on the hub; switchyard onboard / status / teardown on the host)
  JOIN_TOKEN_INVALID: { status: 401, retryable: false },
  JOIN_TOKEN_EXPIRED: { status: 401, retryable: false },
  JOIN_TOKEN_REVOKED: { status: 401, retryable: false },
  JOIN_TOKEN_USED: { status: 409, retryable: false },
  ONBOARD_PREFLIGHT_FAILED: { status: 422, retryable: false },
  ONBOARD_HUB_UNREACHABLE: { status: 503, retryable: true },
  ONBOARD_REPO_UNREACHABLE: { status: 422, retryable: true },
  ONBOARD_STATE_CONFLICT: { status: 409, retryable: false },
  ONBOARD_SERVICE_FAILED: { status: 500, retryable: true },
  ONBOARD_VERIFY_FAILED: { status: 504, retryable: true },
  ONBOARD_NOT_ONBOARDED: { status: 404, retryable: false },
  INTERNAL: { status: 500, retryable: true },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The wire form of an error, on REST answers and WebSocket `error` messages alike. */
export interface WireError {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  details?: unknown;
}

/** An error with a stable code from the table. Throw it; the edges turn it into a WireError. */
export class SwitchyardError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'SwitchyardError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }

  toWire(): WireError {
    const wire: WireError = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.details !== undefined) wire.details = this.details;
    return wire;
  }
}

/** Turns anything thrown into a WireError, hiding internals of errors that carry no code. */
export function toWireError(err: unknown): WireError {
  if (err instanceof SwitchyardError) return err.toWire();
  return { code: 'INTERNAL', message: 'internal error', retryable: true };
}
