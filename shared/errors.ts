/**
 * The one table of Switchyard's error codes. Codes are stable and cross the wire as
 * `{ code, message, retryable }`; messages may change. `status` is the HTTP status a REST
 * answer carries; `retryable` says whether sending the same request again can help.
 * docs/errors.md documents every code, and a test keeps the two in step.
 *
 * Besides answers, the table holds the codes that end up in a task's `last_error` or travel as a
 * `task.reject` code (LEASE_EXPIRED, VERIFICATION_FAILED, BUSY, ...): never a REST answer, they
 * carry the status their meaning would have, as AGENT_LOST_TASK and the SIDECAR_* codes do.
 * (The executors' own EXEC_* codes are sidecar/executors/failures.ts's table.)
 */
import { Type, type Static } from '@sinclair/typebox';

export const ERROR_CODES = {
  // Input
  VALIDATION_FAILED: { status: 400, retryable: false },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  DEPENDENCY_CYCLE: { status: 400, retryable: false },
  UNKNOWN_DEPENDENCY: { status: 400, retryable: false },
  DEPENDENCY_FAILED: { status: 409, retryable: false },
  IDEMPOTENCY_KEY_ARCHIVED: { status: 409, retryable: false },
  LIMIT_EXCEEDED: { status: 409, retryable: false },
  // Task state
  TASK_NOT_FOUND: { status: 404, retryable: false },
  ILLEGAL_TRANSITION: { status: 409, retryable: false },
  STALE_GENERATION: { status: 409, retryable: false },
  NOT_LEASE_HOLDER: { status: 403, retryable: false },
  // Store
  STORE_CLOSED: { status: 503, retryable: true },
  STORE_FAILED: { status: 503, retryable: true },
  STORE_DEGRADED: { status: 503, retryable: true },
  STORE_LOCKED: { status: 503, retryable: false },
  STORE_READ_ONLY: { status: 503, retryable: false },
  STORE_NEEDS_MIGRATION: { status: 503, retryable: false },
  // Backups (docs/operations.md)
  BACKUP_FAILED: { status: 503, retryable: true },
  BACKUP_INVALID: { status: 422, retryable: false },
  BACKUP_TOO_NEW: { status: 422, retryable: false },
  BACKUP_NOT_FOUND: { status: 404, retryable: false },
  STORE_CORRUPT: { status: 503, retryable: false },
  // Auth and protocol
  UNAUTHORIZED: { status: 401, retryable: false },
  FORBIDDEN: { status: 403, retryable: false },
  NOT_FOUND: { status: 404, retryable: false },
  RATE_LIMITED: { status: 429, retryable: true },
  TOO_MANY_VIOLATIONS: { status: 429, retryable: true },
  PROTOCOL_VERSION_MISMATCH: { status: 400, retryable: false },
  PROTOCOL_INVALID_JSON: { status: 400, retryable: false },
  PROTOCOL_UNKNOWN_TYPE: { status: 400, retryable: false },
  PROTOCOL_NOT_READY: { status: 400, retryable: false },
  AGENT_NOT_FOUND: { status: 404, retryable: false },
  ALERT_NOT_FOUND: { status: 404, retryable: false },
  AGENT_EXISTS: { status: 409, retryable: false },
  TOKEN_NOT_FOUND: { status: 404, retryable: false },
  BUDGET_INVALID: { status: 400, retryable: false },
  BUDGET_NOT_FOUND: { status: 404, retryable: false },
  TOKEN_EXISTS: { status: 409, retryable: false },
  REPO_NOT_FOUND: { status: 404, retryable: false },
  REPO_EXISTS: { status: 409, retryable: false },
  AGENT_REPLACED: { status: 409, retryable: false },
  AGENT_OFFLINE: { status: 409, retryable: true },
  HUB_SHUTTING_DOWN: { status: 503, retryable: true },
  AGENT_LOST_TASK: { status: 409, retryable: true },
  // Task outcomes the hub records in last_error (never a REST answer)
  LEASE_EXPIRED: { status: 409, retryable: true },
  TASK_TIMEOUT: { status: 504, retryable: true },
  REVIEW_REJECTED: { status: 409, retryable: true },
  // Task outcomes a sidecar reports in task.fail, and its task.reject codes
  VERIFICATION_FAILED: { status: 422, retryable: true },
  SUBMIT_FAILED: { status: 502, retryable: true },
  SIDECAR_ERROR: { status: 500, retryable: true },
  EXEC_FAILED: { status: 500, retryable: true },
  BUSY: { status: 503, retryable: true },
  DRAINING: { status: 503, retryable: true },
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
  // Push notifications (hub/push)
  PUSH_KEYS_INVALID: { status: 500, retryable: false },
  // The review workflow (docs/workflow.md)
  CIRCUIT_OPEN: { status: 409, retryable: false },
  // Routing (docs/routing.md)
  ROUTING_POLICY_INVALID: { status: 400, retryable: false },
  // MCP (docs/mcp.md)
  MCP_SESSION_NOT_FOUND: { status: 404, retryable: false },
  MCP_STREAM_NOT_OFFERED: { status: 405, retryable: false },
  GUARDIAN_NO_VERDICT: { status: 422, retryable: true },
  ESCALATION_NOT_FOUND: { status: 404, retryable: false },
  PATH_NOT_ALLOWED: { status: 403, retryable: false },
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

/** The error body of every REST refusal (the wire form above, as a schema). */
export const ErrorBody = Type.Object(
  {
    code: Type.Unsafe<ErrorCode>({ type: 'string', enum: Object.keys(ERROR_CODES) }),
    message: Type.String(),
    retryable: Type.Boolean(),
    /** Code-specific data: the failing fields of a VALIDATION_FAILED, the cycle of a DEPENDENCY_CYCLE... */
    details: Type.Optional(Type.Unknown()),
  },
  { $id: 'Error', additionalProperties: false },
);
// Compile-time: the schema and WireError are the same shape.
const sameWire: [Static<typeof ErrorBody>] extends [WireError] ? ([WireError] extends [Static<typeof ErrorBody>] ? true : false) : false = true;
void sameWire;

/**
 * An error with a stable code from the table. Throw it; the edges turn it into a WireError. An
 * error that wraps another keeps it as `cause` (for the log; it never crosses the wire), as
 * Temporal's failures do.
 */
export class SwitchyardError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
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

/**
 * A task's failure (a `task.fail` error, a `last_error`) with a code of the table and, unless
 * told otherwise, the table's retryability: a code written this way cannot be missing from the
 * table or from docs/errors.md.
 */
export function taskFailure(code: ErrorCode, message: string, retryable: boolean = ERROR_CODES[code].retryable): { code: ErrorCode; message: string; retryable: boolean } {
  return { code, message, retryable };
}
