/**
 * Structured JSON logs (pino) with secrets redacted: tokens in fields, Authorization headers,
 * and `token=` in logged URLs never reach a log line.
 */
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'token',
  '*.token',
  'admin_token',
  '*.admin_token',
  'authorization',
  'req.headers.authorization',
  'headers.authorization',
  '*.headers.authorization',
];

/** Replaces the value of token-like query parameters in a URL. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token)=)[^&#]*/gi, '$1[Redacted]');
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
