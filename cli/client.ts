/**
 * The CLI's REST client: finds the hub and the admin token, and turns failures into messages
 * that say what to do next.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export interface ClientOptions {
  hub?: string;
  token?: string;
  data?: string;
}

export const DEFAULT_HUB = 'http://127.0.0.1:7070';

/** Token: --token, then SWITCHYARD_ADMIN_TOKEN, then the admin.token file of the local hub's data folder. */
export function resolveToken(opts: ClientOptions): string | null {
  if (opts.token) return opts.token;
  if (process.env.SWITCHYARD_ADMIN_TOKEN) return process.env.SWITCHYARD_ADMIN_TOKEN;
  const dataDir = resolve(opts.data ?? process.env.SWITCHYARD_DATA ?? '.switchyard/hub');
  const file = join(dataDir, 'admin.token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : null;
}

export class HubClient {
  readonly base: string;
  private readonly token: string | null;

  constructor(opts: ClientOptions) {
    this.base = (opts.hub ?? process.env.SWITCHYARD_HUB ?? DEFAULT_HUB).replace(/\/$/, '');
    this.token = resolveToken(opts);
  }

  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    if (!this.token) {
      throw new CliError('no admin token: pass --token, set SWITCHYARD_ADMIN_TOKEN, or run where the hub keeps .switchyard/hub/admin.token');
    }
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      throw new CliError(`hub unreachable at ${this.base} (${cause?.code ?? (err as Error).message}): is it running? Start one with \`switchyard hub\` or pass --hub URL`);
    }
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const e = parsed as { code?: string; message?: string } | undefined;
      if (res.status === 401) throw new CliError(`the hub refused the token (${e?.code}): ${e?.message}. Check --token / SWITCHYARD_ADMIN_TOKEN`);
      throw new CliError(`${e?.code ?? res.status}: ${e?.message ?? text}`);
    }
    return { status: res.status, body: parsed as T };
  }
}
