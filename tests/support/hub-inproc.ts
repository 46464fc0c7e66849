/**
 * A real hub in the test process: the task and agent stores on LevelDB in a fresh temp folder,
 * opened the way `startHub` opens them (the accept timeout, lease and attempts from the config
 * become the store's task defaults), `buildHub` on top, and optionally listening on 127.0.0.1
 * with a free port. Logs go nowhere by default, or into a buffer a test can search.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { buildHub, type Hub } from '../../hub/app.js';
import { loadHubConfig, type HubConfig } from '../../hub/config.js';
import { openAgentStore, type AgentStore } from '../../hub/store/agent-store.js';
import type { KvTaskStore, TaskStoreOptions } from '../../hub/store/kv-task-store.js';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import type { TaskStore } from '../../hub/store/task-store.js';
import { createLogger } from '../../shared/logger.js';
import { PROTOCOL_VERSION, type SidecarMessage } from '../../shared/protocol.js';

export const ADMIN_TOKEN = 'sya_test-admin-token-0123456789abcdef';

export interface InprocHubOptions {
  /** Overrides of the hub config (validated by loadHubConfig, so its limits apply). */
  config?: Partial<HubConfig>;
  /** Listen on 127.0.0.1 with a free port. @defaultValue false */
  listen?: boolean;
  /** Capture log lines at this level into `logs()`; without it the logger is silent. */
  captureLogs?: string;
  /** Extra task store options (the task defaults come from the config, like startHub). */
  storeOptions?: Partial<TaskStoreOptions>;
  /** What the hub sees of the store (e.g. one without a capability); `store` stays the store itself. */
  storeView?: (store: KvTaskStore) => TaskStore;
  /** Where the hub's temp data folder is made (a small tmpfs, for a full disk). @defaultValue the OS temp folder */
  parentDir?: string;
  /** The hub's clock (token expiry, alerts…); the task store keeps its own. @defaultValue Date.now */
  now?: () => number;
}

export interface InprocHub {
  hub: Hub;
  store: KvTaskStore;
  agents: AgentStore;
  config: Readonly<HubConfig>;
  adminToken: string;
  dir: string;
  /** http://127.0.0.1:PORT when listening, else ''. */
  url: string;
  /** ws://127.0.0.1:PORT when listening, else ''. */
  wsUrl: string;
  /** Everything logged so far (JSON lines), when captureLogs was set. */
  logs(): string;
  /** Admin headers for inject() and fetch(). */
  auth(extra?: Record<string, string>): Record<string, string>;
  /** Registers an agent through the REST API; returns its token. */
  addAgent(id: string): Promise<string>;
  /** Closes the hub (and so both stores) and deletes the temp folder. */
  close(): Promise<void>;
}

export async function startInprocHub(options: InprocHubOptions = {}): Promise<InprocHub> {
  const dir = await mkdtemp(join(options.parentDir ?? tmpdir(), 'sy-hub-'));
  const config = loadHubConfig({ dataDir: dir, port: 0, adminToken: ADMIN_TOKEN, logLevel: 'silent', ...options.config }, {});
  const chunks: string[] = [];
  const log = options.captureLogs
    ? createLogger('hub', options.captureLogs, { write: (s: string) => void chunks.push(s) })
    : createLogger('hub', 'silent');
  const store = await openTaskStore(join(dir, 'tasks'), {
    taskDefaults: {
      maxAttempts: config.maxAttempts,
      timeouts: { start_ms: config.acceptTimeoutMs, lease_ms: config.leaseMs, overall_ms: 3_600_000 },
    },
    ...options.storeOptions,
  });
  const agents = await openAgentStore(join(dir, 'agents'));
  const hub = await buildHub({ config, store: options.storeView ? options.storeView(store) : store, agents, adminToken: ADMIN_TOKEN, log, ...(options.now ? { now: options.now } : {}) });
  let url = '';
  if (options.listen) {
    const address = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${new URL(address).port}`;
  }
  const auth = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${ADMIN_TOKEN}`, ...extra });
  let closed = false;
  return {
    hub,
    store,
    agents,
    config,
    adminToken: ADMIN_TOKEN,
    dir,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    logs: () => chunks.join(''),
    auth,
    async addAgent(id: string) {
      const res = await hub.app.inject({ method: 'POST', url: '/v1/agents', headers: auth(), payload: { id } });
      if (res.statusCode !== 201) throw new Error(`registering ${id} failed: ${res.statusCode} ${res.body}`);
      return (res.json() as { token: string }).token;
    },
    async close() {
      if (closed) return;
      closed = true;
      await hub.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------ raw protocol clients

/** A minimal host description, valid against the protocol schema. */
export const RESOURCES = { cpu_count: 2, load_1m: 0.1, ram_total_mb: 4096, ram_free_mb: 2048, gpus: [] };
export const SHELL = [{ name: 'shell' as const, available: true, models: [] }];

export function helloMessage(agentId: string, token: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    agent_id: agentId,
    token,
    capabilities: [],
    executors: SHELL,
    max_concurrency: 1,
    resources: RESOURCES,
    in_flight: [],
    ...over,
  };
}

/**
 * A raw WebSocket client that records every frame the hub sends and lets a test wait for the
 * next one matching a predicate, so protocol tests speak the wire format by hand.
 */
export class RawClient {
  readonly ws: WebSocket;
  readonly received: Array<Record<string, unknown>> = [];
  /** Indexes of `received` already returned by next(). */
  private readonly taken = new Set<number>();
  private waiters: Array<() => void> = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  closeInfo: { code: number; reason: string } | null = null;
  /** Pings received since the socket was made: counted from construction so none is missed before a test looks. */
  pings = 0;

  constructor(url: string, options: WebSocket.ClientOptions = {}, protocols?: string[]) {
    this.ws = protocols ? new WebSocket(url, protocols, options) : new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this.wake();
      });
    });
    this.ws.on('error', () => undefined);
    this.ws.on('ping', () => this.pings++);
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : (data as Buffer).toString('utf8');
      this.received.push(JSON.parse(text) as Record<string, unknown>);
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  static async open(url: string, options: WebSocket.ClientOptions = {}): Promise<RawClient> {
    const c = new RawClient(url, options);
    await c.opened;
    return c;
  }

  send(message: SidecarMessage | Record<string, unknown> | string): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /**
   * The first frame not yet taken that matches `pred` (frames before it that do not match stay
   * for later calls; `received` keeps arrival order). Rejects after `timeoutMs`, or when the
   * socket closes with no match.
   */
  async next(pred: (m: Record<string, unknown>) => boolean = () => true, timeoutMs = 5000, what = 'a frame'): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = 0; i < this.received.length; i++) {
        const m = this.received[i]!;
        if (!this.taken.has(i) && pred(m)) {
          this.taken.add(i);
          return m;
        }
      }
      if (this.closeInfo) throw new Error(`socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) while waiting for ${what}; unread: ${JSON.stringify(this.unread()).slice(0, 2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; unread: ${JSON.stringify(this.unread()).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The next frame of this type. */
  nextOf(type: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
    return this.next((m) => m.type === type, timeoutMs, `'${type}'`);
  }

  /** Frames not yet taken by next(). */
  unread(): Array<Record<string, unknown>> {
    return this.received.filter((_, i) => !this.taken.has(i));
  }

  /** Opens, says hello and waits for the welcome. */
  static async connect(wsUrl: string, agentId: string, token: string, over: Record<string, unknown> = {}, options: WebSocket.ClientOptions = {}): Promise<RawClient> {
    const c = await RawClient.open(`${wsUrl}/v1/agent`, options);
    c.send(helloMessage(agentId, token, over));
    await c.nextOf('welcome');
    return c;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    const timer = setTimeout(() => this.ws.terminate(), 1000);
    await this.closed;
    clearTimeout(timer);
  }
}

/** Waits until `check` returns a truthy value (polling every 10 ms), or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
