/**
 * HTTP edges: errors as `{ code, message, retryable }` with the code's status, and small helpers to
 * read query strings and params strictly (a bad value is a VALIDATION_FAILED, not a guess).
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { ERROR_CODES, SwitchyardError, toWireError, type ErrorCode } from '../../shared/errors.js';
import { assertWellFormed } from '../../shared/unicode.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
};

/**
 * Refuses bodies and query strings holding text that is not valid Unicode (a lone surrogate,
 * `"\ud800"` in JSON), before any handler sees them: such strings do not map one-to-one to bytes
 * (see shared/unicode.ts).
 */
export function installUnicodeCheck(app: FastifyInstance): void {
  app.addHook('preHandler', async (req) => {
    assertWellFormed(req.query, 'query');
    if (req.body !== undefined) assertWellFormed(req.body, 'body');
  });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    let wire;
    if (err instanceof SwitchyardError) {
      wire = err.toWire();
    } else if (err.code && FASTIFY_CODES[err.code]) {
      const code = FASTIFY_CODES[err.code]!;
      wire = { code, message: err.message, retryable: ERROR_CODES[code].retryable };
    } else if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) {
      wire = { code: 'VALIDATION_FAILED' as const, message: `body is not valid JSON: ${err.message}`, retryable: false };
    } else {
      req.log.error({ err }, 'request failed');
      wire = toWireError(err);
    }
    void reply.status(ERROR_CODES[wire.code].status).send(wire);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}`, retryable: false });
  });
}

type Query = Record<string, unknown>;

export function queryString(q: Query, name: string, allowed?: readonly string[]): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '' || v.length > 256) {
    throw new SwitchyardError('VALIDATION_FAILED', `query parameter ${name} must be a non-empty string`);
  }
  if (allowed && !allowed.includes(v)) {
    throw new SwitchyardError('VALIDATION_FAILED', `query parameter ${name} must be one of ${allowed.join(', ')}`);
  }
  return v;
}

export function queryInt(q: Query, name: string, min: number, max: number): number | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SwitchyardError('VALIDATION_FAILED', `query parameter ${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

/** An optional JSON object body (POST without a body is `{}`). */
export function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new SwitchyardError('VALIDATION_FAILED', 'body must be a JSON object');
  }
  return body as Record<string, unknown>;
}
