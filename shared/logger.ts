/**
 * Structured JSON logs (pino) with secrets redacted: tokens in fields, Authorization headers,
 * and `token=` in logged URLs never reach a log line.
 *
 * Losing log lines must never stop the process: pino's own stdout destination re-emits a write
 * error other than EPIPE as an 'error' event nobody handles, so a full log device (ENOSPC) once
 * ended the hub with exit 1. The default destination here writes each line synchronously to the
 * fd (as pino's does) and drops a line it cannot write, counting it (`droppedLogLines()`, shown in
 * the hub's health as `log.dropped`); the first line written after drops says how many were lost.
 */
import { writeSync } from 'node:fs';
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

let dropped = 0;
/** At most this many 1 ms waits for a full pipe before a line is dropped. */
const EAGAIN_WAITS = 20;
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Log lines this process could not write and dropped (every resilient destination together). */
export function droppedLogLines(): number {
  return dropped;
}

/**
 * A pino destination on a file descriptor that never throws: a line the fd does not take
 * (ENOSPC, EAGAIN on a full pipe, EPIPE, EIO) is dropped and counted. Writing is synchronous, one
 * `write(2)` per line as pino's default destination does, so a crash loses no written line.
 */
export class ResilientDestination implements pino.DestinationStream {
  /** Lines dropped since the last line that was written (reported, then reset, by the next one). */
  private unreported = 0;
  /** A line was cut short: the next write starts on a new line, so the cut one cannot swallow it. */
  private torn = false;

  constructor(private readonly fd: number) {}

  write(line: string): void {
    let text = line;
    if (this.unreported > 0) {
      text = `${JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, msg: 'log lines were dropped: the log device did not take them', dropped: this.unreported, dropped_total: dropped })}\n${text}`;
    }
    if (this.torn) text = `\n${text}`;
    const buf = Buffer.from(text);
    let off = 0;
    let waits = 0;
    try {
      while (off < buf.length) {
        try {
          off += writeSync(this.fd, buf, off);
        } catch (err) {
          // A full pipe (a slow reader: pm2, a terminal) drains soon: wait a little, then drop.
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || ++waits > EAGAIN_WAITS) throw err;
          Atomics.wait(PAUSE, 0, 0, 1);
        }
      }
      this.torn = false;
      this.unreported = 0;
    } catch {
      if (off > 0) this.torn = true;
      dropped++;
      this.unreported++;
    }
  }
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
  return pino(options, destination ?? new ResilientDestination(1));
}

export type { Logger };
