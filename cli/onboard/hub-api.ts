/**
 * The host side's client of the hub: health (public), the join exchange (join token) and the
 * agent's own routes (agent token). Tokens travel in the Authorization header only. A hub error
 * comes back as the SwitchyardError of its code; a hub that does not answer, or something that
 * answers but is not a Switchyard hub, is ONBOARD_HUB_UNREACHABLE naming the URL.
 */
import { ERROR_CODES, SwitchyardError, type ErrorCode } from '../../shared/errors.js';
import type { Task, TaskEvent } from '../../shared/task.js';

export interface SelfView {
  id: string;
  state: string;
  description: string;
  created_at: number;
  connected_at?: number | null;
  last_seen_at?: number | null;
  capabilities?: string[];
  repos?: string[] | null;
  executors?: Array<{ name: string; available: boolean; models: string[]; reason?: string }>;
  tasks: Array<{ task_id: string; generation: number; status: string }>;
}

export interface HealthView {
  status: string;
  store: string;
  uptime_s: number;
  agents: { connected: number; by_state: Record<string, number> };
  queue: { depth: Record<string, number>; by_status: Record<string, number>; leases: number };
}

export interface JoinCheck {
  protocol: number;
  join: { id: string; name: string | null; capabilities: string[]; expires_at: number; agent_id: string | null };
  taken: string[];
}

/** `http://host:7070` from what an operator typed (a trailing slash or path is dropped). */
export function normalizeHubUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new SwitchyardError('VALIDATION_FAILED', `--hub '${raw}' is not a URL: pass the hub's address, e.g. --hub http://10.0.0.5:7070 (as switchyard agent invite printed it)`);
  }
  if (u.protocol === 'ws:') u.protocol = 'http:';
  if (u.protocol === 'wss:') u.protocol = 'https:';
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new SwitchyardError('VALIDATION_FAILED', `--hub '${raw}' must be an http(s) URL, e.g. http://10.0.0.5:7070`);
  }
  return `${u.protocol}//${u.host}`;
}

export class HostHubClient {
  constructor(
    readonly base: string,
    private readonly timeoutMs = 10_000,
  ) {}

  private async call<T>(method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; body: T }> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      const why = cause?.code ?? ((err as Error).name === 'TimeoutError' ? `no answer in ${this.timeoutMs / 1000} s` : (err as Error).message);
      throw new SwitchyardError(
        'ONBOARD_HUB_UNREACHABLE',
        `no hub answers at ${this.base} (${why}): check --hub (the URL switchyard agent invite printed), that the hub runs and listens on an address this host can reach (SWITCHYARD_HOST=0.0.0.0), and the firewall`,
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw this.notAHub(`${method} ${path} answered ${res.status} with something that is not JSON`);
    }
    if (!res.ok) {
      const e = parsed as { code?: string; message?: string; details?: unknown } | undefined;
      if (e?.code && e.code in ERROR_CODES && e.code !== 'NOT_FOUND') throw new SwitchyardError(e.code as ErrorCode, e.message ?? e.code, e.details);
      throw this.notAHub(`${method} ${path} answered ${res.status}${e?.message ? `: ${e.message}` : ''}`);
    }
    return { status: res.status, body: parsed as T };
  }

  private notAHub(what: string): SwitchyardError {
    return new SwitchyardError('ONBOARD_HUB_UNREACHABLE', `${this.base} is not a Switchyard hub, or one too old for onboarding (${what}): check --hub`);
  }

  async health(): Promise<HealthView> {
    const { body } = await this.call<HealthView>('GET', '/v1/health', null);
    if (!body || typeof body.status !== 'string' || !body.queue) throw this.notAHub('GET /v1/health did not answer as a hub does');
    return body;
  }

  async check(joinToken: string, names: string[], exchangeKey?: string): Promise<JoinCheck> {
    return (await this.call<JoinCheck>('POST', '/v1/join/check', joinToken, { names, ...(exchangeKey ? { exchange_key: exchangeKey } : {}) })).body;
  }

  async join(joinToken: string, name: string, exchangeKey: string, description: string) {
    return (
      await this.call<{ agent: { id: string }; token: string; protocol: number; capabilities: string[]; repeat: boolean }>('POST', '/v1/join', joinToken, {
        name,
        exchange_key: exchangeKey,
        description,
      })
    ).body;
  }

  async self(agentToken: string): Promise<SelfView> {
    return (await this.call<SelfView>('GET', '/v1/self', agentToken)).body;
  }

  async smoke(agentToken: string): Promise<Task> {
    return (await this.call<Task>('POST', '/v1/self/smoke', agentToken)).body;
  }

  async task(agentToken: string, id: string): Promise<{ task: Task; events: TaskEvent[] }> {
    return (await this.call<{ task: Task; events: TaskEvent[] }>('GET', `/v1/self/tasks/${encodeURIComponent(id)}`, agentToken)).body;
  }

  async cancelSmoke(agentToken: string, id: string): Promise<void> {
    await this.call('POST', `/v1/self/tasks/${encodeURIComponent(id)}/cancel`, agentToken);
  }

  async leave(agentToken: string): Promise<void> {
    await this.call('DELETE', '/v1/self', agentToken);
  }
}
