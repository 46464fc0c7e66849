/**
 * A simulated sidecar: a real `ws` client that speaks protocol version 1 as sidecar/sidecar.ts
 * does, with a no-op executor. It says hello with its agent token, waits for welcome, heartbeats
 * at the interval the hub asks for, and for each task.assign sends task.accept, waits for the ack
 * (as the real sidecar does before it starts the executor), sends task.complete and waits for
 * that ack.
 *
 * What it leaves out, to keep the client side cheap (it shares the machine with the hub): the
 * sidecar's state file and ajv validation of the hub's frames (JSON.parse only; the hub is trusted).
 */
import WebSocket from 'ws';
import { performance } from 'node:perf_hooks';
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, type HubMessage, type HubMessageOf, type SidecarMessage } from '../shared/protocol.js';
import type { AgentCred } from './dispatch-ipc.js';

/** What every simulated host reports: a fixed snapshot (the hub only stores it). */
const RESOURCES = { cpu_count: 8, load_1m: 0.5, ram_total_mb: 32_768, ram_free_mb: 16_384, gpus: [] };
const EXECUTORS = [{ name: 'shell' as const, available: true, models: [] }];
/** The heartbeat of a sidecar that holds nothing, serialised once for the whole fleet. */
const IDLE_HEARTBEAT = JSON.stringify({ type: 'heartbeat', resources: RESOURCES, tasks: [] } satisfies SidecarMessage);

/** Callbacks the fleet uses to count and time what its sidecars do. */
export interface SimHooks {
  /** A task.assign arrived; `at` is performance.now() when its frame was received. */
  onAssign?(taskId: string, at: number): void;
  /** The hub acknowledged this task's completion. */
  onCompleted?(taskId: string): void;
  /** The hub answered with an error frame, or a task step failed. */
  onError?(message: string): void;
  /** A heartbeat + ping round trip, when recording is on. */
  onHeartbeatRtt?(ms: number): void;
}

export class SimSidecar {
  private ws: WebSocket | null = null;
  private msgSeq = 0;
  private readonly answers = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  /** task id -> generation of the tasks it holds (renewed by its heartbeats). */
  private readonly held = new Map<string, number>();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  /** performance.now() of pings in flight, oldest first (pongs come back in order). */
  private readonly pings: number[] = [];
  heartbeatMs = 10_000;
  closed = false;

  constructor(
    readonly cred: AgentCred,
    private readonly url: string,
    private readonly maxConcurrency: number,
    private readonly hooks: SimHooks,
  ) {}

  /** Opens the socket and says hello; resolves at welcome, rejects on refusal or close. */
  connect(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      let welcomed = false;
      const ws = new WebSocket(this.url, { maxPayload: 2 * MAX_FRAME_BYTES, handshakeTimeout: timeoutMs, perMessageDeflate: false });
      this.ws = ws;
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`${this.cred.id}: no welcome within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.on('open', () => {
        const hello: SidecarMessage = {
          type: 'hello',
          protocol: PROTOCOL_VERSION,
          agent_id: this.cred.id,
          token: this.cred.token,
          capabilities: [],
          executors: EXECUTORS,
          repos: null,
          max_concurrency: this.maxConcurrency,
          resources: RESOURCES,
          in_flight: [],
          sidecar_version: 'bench',
        };
        ws.send(JSON.stringify(hello));
      });
      ws.on('message', (data) => {
        const at = performance.now();
        const msg = JSON.parse(String(data)) as HubMessage;
        if (!welcomed) {
          if (msg.type === 'welcome') {
            welcomed = true;
            clearTimeout(timer);
            this.heartbeatMs = msg.heartbeat_ms;
            resolve();
            return;
          }
          if (msg.type === 'error') {
            clearTimeout(timer);
            reject(new Error(`${this.cred.id}: hub refused hello: ${msg.code}: ${msg.message}`));
            return;
          }
        }
        this.onMessage(msg, at);
      });
      ws.on('pong', () => {
        const sent = this.pings.shift();
        if (sent !== undefined) this.hooks.onHeartbeatRtt?.(performance.now() - sent);
      });
      ws.on('error', (err) => {
        if (!welcomed) {
          clearTimeout(timer);
          reject(new Error(`${this.cred.id}: ${err.message}`));
        }
      });
      ws.on('close', (code, reason) => {
        this.closed = true;
        this.stopHeartbeats();
        for (const a of this.answers.values()) a.reject(new Error(`socket closed (${code} ${reason.toString()})`));
        this.answers.clear();
        if (!welcomed) {
          clearTimeout(timer);
          reject(new Error(`${this.cred.id}: closed before welcome (${code} ${reason.toString()})`));
        }
      });
    });
  }

  private onMessage(msg: HubMessage, at: number): void {
    switch (msg.type) {
      case 'task.assign':
        this.hooks.onAssign?.(String(msg.task.id), at);
        void this.run(msg);
        return;
      case 'ack': {
        const a = this.answers.get(msg.id);
        this.answers.delete(msg.id);
        a?.resolve();
        return;
      }
      case 'error': {
        const a = msg.id === undefined ? undefined : this.answers.get(msg.id);
        if (a) {
          this.answers.delete(msg.id!);
          a.reject(new Error(`${msg.code}: ${msg.message}`));
        } else {
          this.hooks.onError?.(`hub error frame: ${msg.code}: ${msg.message}`);
        }
        return;
      }
      case 'task.cancel':
      case 'task.drop':
        this.held.delete(msg.task_id);
        return;
      default:
        return;
    }
  }

  /** The no-op executor: accept, wait for the ack, complete, wait for the ack. */
  private async run(msg: HubMessageOf<'task.assign'>): Promise<void> {
    const taskId = String(msg.task.id);
    const generation = msg.generation;
    this.held.set(taskId, generation);
    try {
      await this.request({ type: 'task.accept', id: this.nextId(), task_id: taskId, generation });
      await this.request({ type: 'task.complete', id: this.nextId(), task_id: taskId, generation, result: { ok: true } });
      this.hooks.onCompleted?.(taskId);
    } catch (err) {
      this.hooks.onError?.(`task ${taskId}: ${(err as Error).message}`);
    } finally {
      this.held.delete(taskId);
    }
  }

  private nextId(): string {
    return `m${++this.msgSeq}`;
  }

  /** Sends a message that the hub answers with ack or error, and waits for the answer. */
  private request(msg: SidecarMessage & { id: string }): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error('socket not open'));
        return;
      }
      this.answers.set(msg.id, { resolve, reject });
      this.ws.send(JSON.stringify(msg));
    });
  }

  /**
   * Heartbeats every `heartbeatMs` (the interval the hub's welcome asked for), the first after a
   * random share of it so that a fleet connected together does not beat in lockstep. With
   * `ping`, each heartbeat is followed by a ws ping on the same socket: the pong comes back after
   * the hub has read (and synchronously handled) the heartbeat.
   */
  startHeartbeats(ping: () => boolean): void {
    this.stopHeartbeats();
    const beat = () => {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      const frame =
        this.held.size === 0
          ? IDLE_HEARTBEAT
          : JSON.stringify({
              type: 'heartbeat',
              resources: RESOURCES,
              tasks: [...this.held].map(([task_id, generation]) => ({ task_id, generation })),
            } satisfies SidecarMessage);
      ws.send(frame);
      if (ping()) {
        this.pings.push(performance.now());
        ws.ping();
      }
    };
    this.heartbeatTimer = setTimeout(() => {
      beat();
      this.heartbeatTimer = setInterval(beat, this.heartbeatMs);
    }, Math.random() * this.heartbeatMs);
  }

  stopHeartbeats(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  close(): Promise<void> {
    this.stopHeartbeats();
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      ws.once('close', () => resolve());
      ws.close(1000, 'bench done');
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 3000).unref();
    });
  }
}
