/**
 * HTTP edges: errors as `{ code, message, retryable }` with the code's status, and the Unicode
 * check every body and query string passes. (Bodies, query strings, params and headers are
 * checked against their route schemas by fastify: hub/api/validation.ts.)
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
 * `"\ud800"` in JSON), before the schemas or any handler see them: such strings do not map
 * one-to-one to bytes (see shared/unicode.ts).
 */
export function installUnicodeCheck(app: FastifyInstance): void {
  app.addHook('preValidation', async (req) => {
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
    // A refusal that says when to come back (STORE_DEGRADED) says it in HTTP's words too.
    const retryAfterMs = (wire.details as { retry_after_ms?: unknown } | undefined)?.retry_after_ms;
    if (typeof retryAfterMs === 'number') void reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    void reply.status(ERROR_CODES[wire.code].status).send(wire);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}`, retryable: false });
  });
}
