/**
 * Structured JSON logs (pino) with secrets redacted: tokens in fields, Authorization headers,
 * and `token=` in logged URLs never reach a log line.
 */
import { pino, type Logger } from 'pino';
import { Type } from '@sinclair/typebox';

/** pino's levels; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** A log level setting (hub and sidecar config). @defaultValue info (SWITCHYARD_LOG_LEVEL) */
export const LogLevel = Type.Union(
  LOG_LEVELS.map((l) => Type.Literal(l)),
  { default: 'info', env: 'SWITCHYARD_LOG_LEVEL' },
);

export const REDACT_PATHS = [
  'token',
  '*.token',
  'admin_token',
  '*.admin_token',
  'authorization',
  'req.headers.authorization',
  'headers.authorization',
  '*.headers.authorization',
  // The feed's `bearer.<token>` subprotocol carries the token.
  'req.headers["sec-websocket-protocol"]',
  'headers["sec-websocket-protocol"]',
  '*.headers["sec-websocket-protocol"]',
];

/** Query parameter names whose values are secrets, matched on the decoded name. */
const SECRET_PARAM = /token|secret|password|passwd|api[-_]?key|auth/i;

/**
 * Replaces the value of every secret-looking query parameter in a URL. Names are matched as the
 * server decodes them (`tok%65n` is `token` to the query parser, so it must be to us too), and
 * a name that does not decode is redacted rather than trusted.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const parts = query.split('&').map((part) => {
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    let name: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
    } catch {
      return `${rawName}=[Redacted]`;
    }
    return SECRET_PARAM.test(name) ? `${rawName}=[Redacted]` : part;
  });
  return `${url.slice(0, q)}?${parts.join('&')}${hash < 0 ? '' : url.slice(hash)}`;
}

export function createLogger(name: string, level = process.env.SWITCHYARD_LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
    serializers: {
      req: (req: { method?: string; url?: string; id?: unknown }) => ({ id: req.id, method: req.method, url: redactUrl(req.url ?? '') }),
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
