/**
 * What the bench process and the fleet process (bench/dispatch-fleet.ts: the simulated sidecars,
 * the ws ping-pong clients and the task submitter) say to each other over node's IPC channel:
 * one command at a time, answered by one result. While a command measures, the fleet marks the
 * start and end of its window so that the bench can read the hub's CPU time and memory at the
 * same moments.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LatencySummary } from './support/percentiles.js';
import { cpuMsOf, fdLimitOf, spawnNode, waitExit } from './dispatch-proc.js';

export interface AgentCred {
  id: string;
  token: string;
}

export type FleetCommand =
  | { cmd: 'limits' }
  | {
      cmd: 'pingpong';
      url: string;
      clients: number;
      /** Messages each client keeps in flight. */
      inFlight: number;
      payloadBytes: number;
      warmupMs: number;
      windowMs: number;
    }
  | {
      cmd: 'connect';
      url: string;
      agents: AgentCred[];
      maxConcurrency: number;
      /** Handshakes in flight at once. */
      concurrency: number;
    }
  | {
      cmd: 'cycles';
      hubUrl: string;
      adminToken: string;
      batchSize: number;
      /** Tasks posted but not yet assigned, at most: keeps the queue fed but shallow. */
      backlog: number;
      warmupMs: number;
      windowMs: number;
      drainTimeoutMs: number;
    }
  | { cmd: 'latency'; hubUrl: string; adminToken: string; samples: number; warmupSamples: number; gapMs: number }
  | { cmd: 'heartbeats'; windowMs: number }
  | { cmd: 'disconnect' };

export interface LimitsResult {
  fdLimit: string;
}

export interface PingPongResult {
  roundTrips: number;
  elapsedMs: number;
  perSecond: number;
}

export interface ConnectResult {
  connected: number;
  failed: number;
  firstError: string | null;
  elapsedMs: number;
}

export interface CyclesResult {
  /** Completions the hub acknowledged inside the window. */
  completed: number;
  elapsedMs: number;
  perSecond: number;
  /** Tasks posted over the whole command (warm-up, window and drain). */
  posted: number;
  /** Error frames and failed POSTs over the whole command. */
  errors: number;
  firstError: string | null;
  /** Time from the end of the window until every posted task was completed. */
  drainMs: number;
  /** Tasks posted but not completed when the drain gave up (0 when it finished). */
  leftOver: number;
}

export interface LatencyResult {
  /** Just before the POST until the sidecar received task.assign. */
  assign: LatencySummary;
  /** The POST /v1/tasks round trip (the create is durable when it returns). */
  post: LatencySummary;
  /** Just before the POST until the hub acknowledged task.complete. */
  done: LatencySummary;
}

export interface HeartbeatsResult {
  /** Heartbeat frame, then a ws ping on the same socket: time until the pong. */
  rtt: LatencySummary;
  heartbeats: number;
  /** The fleet process's own event-loop delay over the window: its share of the RTT. */
  clientLoopDelayP99Ms: number;
  /** Sockets that closed during the window. */
  dropped: number;
}

export type FleetResult = LimitsResult | PingPongResult | ConnectResult | CyclesResult | LatencyResult | HeartbeatsResult | null;

export type FleetReply =
  | { type: 'result'; id: number; ok: true; result: FleetResult }
  | { type: 'result'; id: number; ok: false; error: string }
  | { type: 'mark'; id: number; mark: 'start' | 'end' };

export interface FleetRequest {
  id: number;
  command: FleetCommand;
}

const FLEET_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'dispatch-fleet.js');

/** The bench side of the fleet process. */
export class FleetProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: FleetResult) => void; reject: (e: Error) => void; onMark?: (m: 'start' | 'end') => void }>();
  private exitReason: string | null = null;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (raw) => this.onReply(raw as FleetReply));
    child.once('exit', (code, signal) => {
      this.exitReason = `fleet process exited (code ${code}, signal ${signal})`;
      for (const p of this.pending.values()) p.reject(new Error(this.exitReason));
      this.pending.clear();
    });
  }

  static start(): FleetProcess {
    return new FleetProcess(spawnNode([FLEET_SCRIPT], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  get pid(): number {
    return this.child.pid!;
  }

  fdLimit(): string {
    return fdLimitOf(this.pid);
  }

  cpuMs(): number {
    return cpuMsOf(this.pid);
  }

  private onReply(reply: FleetReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    if (reply.type === 'mark') {
      p.onMark?.(reply.mark);
      return;
    }
    this.pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.result);
    else p.reject(new Error(`fleet: ${reply.error}`));
  }

  /** Runs one command; `onMark` is called when its measurement window starts and ends. */
  call<R extends FleetResult>(command: FleetCommand, onMark?: (m: 'start' | 'end') => void): Promise<R> {
    if (this.exitReason) return Promise.reject(new Error(this.exitReason));
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: FleetResult) => void, reject, ...(onMark ? { onMark } : {}) });
      this.child.send({ id, command } satisfies FleetRequest);
    });
  }

  async stop(): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    await waitExit(this.child, 5000);
  }
}
