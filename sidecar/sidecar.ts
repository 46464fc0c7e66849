/**
 * The sidecar: one per agent host. It keeps a connection to the hub, takes assignments, runs them,
 * and reports results, so that nothing is lost and nothing is done twice across disconnects,
 * hub restarts and its own restarts:
 *
 *  - every task it holds, and every result the hub has not acknowledged, is in the local state
 *    file (written atomically) before the hub is told anything about it;
 *  - after a (re)connect its hello lists them; the hub answers `task.resume` (go on: accept
 *    again, run again after a restart, or resend the result) or `task.drop` (stop, forget);
 *  - work starts only after the hub acknowledged the accept, so a stale offer is never run;
 *  - a result is resent until the hub answers it (ack, or an error that says it never will).
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { taskFailure, type ErrorCode } from '../shared/errors.js';
import { PROTOCOL_VERSION, type ExecutorAdvert, type HostResources, type HubMessage, type HubMessageOf, type SidecarMessage } from '../shared/protocol.js';
import type { ExecutorName, Task } from '../shared/task.js';
import { agentSocketUrl, type SidecarConfig } from './config.js';
import { gitEnv } from './child-env.js';
import { HubConnection } from './connection.js';
import { ExecutorHealth } from './executor-health.js';
import { HealthMisses } from './health-misses.js';
import type { Executor } from './executors/executor.js';
import { ProgressBatcher } from './executors/progress-batcher.js';
import { spawnProof, stopOrphans } from './orphans.js';
import { readHostResources } from './resources.js';
import { SidecarState, type HeldTask, type ResultMessage } from './state.js';
import { TaskRunner, type HostFault, type RunOutcome } from './task-runner.js';
import { WorkspaceManager } from './workspace/workspace-manager.js';
import { fetchHubRepos, hubOnlyRepos } from './hub-repos.js';

export const SIDECAR_VERSION = '0.1.0';

/** Wait before resending a message the hub answered with a retryable error. */
const RETRY_AFTER_MS = 2000;

/** Heartbeats between two re-advertisements of executors and models. */
const EXECUTOR_REFRESH = 6;

interface Running {
  generation: number;
  abort: AbortController;
  done: Promise<void>;
  /** Why it was aborted: the hub took it away (no result is sent) or the sidecar is draining. */
  abortedFor: 'dropped' | 'drain' | null;
}

export class Sidecar {
  private readonly state: SidecarState;
  private readonly conn: HubConnection;
  private readonly running = new Map<string, Running>();
  /** Messages waiting for the hub's ack: message id -> what it was. */
  private readonly awaiting = new Map<string, { kind: 'accept' | 'result' | 'reject'; taskId: string; generation: number }>();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeats = 0;
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  /** Tasks being handed back for a host fault: task id -> the reject to send (again). */
  private readonly handingBack = new Map<string, () => SidecarMessage>();
  private advertised: ExecutorAdvert[] = [];
  private readonly health: ExecutorHealth;
  private recheckTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  /** The periodic health check's tolerance of single misses (health-misses.ts). */
  private readonly misses: HealthMisses;
  private lastResources: HostResources | null = null;
  private stopped = false;
  private heartbeatMs = 10_000;
  private draining = false;
  private msgCounter = 0;
  /**
   * Names this process's frames: random, so ids from two runs of one agent never meet, and
   * short, so an id stays within the protocol's 64 characters whatever the agent's name
   * (an id built from the agent id outgrew it for long names).
   */
  private readonly idPrefix = randomBytes(6).toString('base64url');
  private readonly workspaces: WorkspaceManager;
  private readonly runner: TaskRunner;

  constructor(
    private readonly config: Readonly<SidecarConfig>,
    private readonly executors: ReadonlyMap<ExecutorName, Executor>,
    private readonly log: Logger,
  ) {
    this.health = new ExecutorHealth({ recheckMinMs: config.recheckMinMs, recheckMaxMs: config.recheckMaxMs });
    this.misses = new HealthMisses(config.healthFailures);
    this.state = new SidecarState(config.dataDir, log.child({ module: 'state' }));
    this.workspaces = new WorkspaceManager(
      { repos: config.repos, worktreesRoot: join(config.dataDir, 'worktrees'), cacheDir: join(config.dataDir, 'repos'), env: gitEnv(config) },
      log.child({ module: 'workspace' }),
    );
    this.runner = new TaskRunner(
      executors,
      this.workspaces,
      { taskTimeoutMs: config.taskTimeoutMs, envPolicy: { envPass: config.envPass, env: config.env } },
      log,
    );
    this.conn = new HubConnection({
      url: agentSocketUrl(config.hubUrl),
      minDelayMs: config.reconnectMinMs,
      maxDelayMs: config.reconnectMaxMs,
      log,
      hello: () => this.hello(),
    });
    this.conn.on('ready', (welcome) => this.onReady(welcome.heartbeat_ms));
    this.conn.on('down', () => this.stopHeartbeat());
    this.conn.on('message', (m) => this.onMessage(m));
  }

  async start(): Promise<void> {
    await mkdir(this.config.dataDir, { recursive: true });
    await this.state.load();
    this.stopOrphans();
    // Worktrees of tasks a crash interrupted are rebuilt from the remote tip when they resume.
    await this.workspaces.cleanOrphans();
    if (this.state.size > 0) this.log.info({ tasks: this.state.size }, 'restored held tasks from local state');
    if (this.config.healthCheckMs > 0) {
      this.healthTimer = setInterval(() => void this.periodicHealth().catch((err) => this.log.warn({ err }, 'the periodic health check failed')), this.config.healthCheckMs);
      this.healthTimer.unref();
    }
    this.conn.start();
  }

  /**
   * Processes a previous run of this sidecar started and did not stop (it was killed) are killed
   * before the tasks run again, so no task runs twice on this host; only those proven to be that
   * run's (orphans.ts).
   */
  private stopOrphans(): void {
    stopOrphans(this.state.all(), this.log);
  }

  /** Tasks held now (for tests and status). */
  held(): HeldTask[] {
    return this.state.all();
  }

  private nextId(): string {
    return `${this.idPrefix}-${Date.now().toString(36)}-${(++this.msgCounter).toString(36)}`;
  }

  /**
   * What the executors can do now (their descriptions with the host faults runs found laid
   * over); kept so assignments can be checked against it. `deep` proves each works (start-up,
   * rechecks). An executor that goes away or comes back is logged, at warn with its reason.
   */
  private async advertise(deep = false, periodic = false): Promise<ExecutorAdvert[]> {
    let infos = await Promise.all([...this.executors.values()].map((e) => e.describe({ deep })));
    // A miss held within the tolerance must not count as proof either: faults runs found stay this round.
    let proven = deep;
    if (periodic) {
      const { infos: kept, held } = this.misses.filter(infos);
      if (held.length > 0) proven = false;
      for (const h of held) this.log.warn({ executor: h.name, misses: h.misses, of: this.config.healthFailures, reason: h.detail }, `health check of ${h.name} failed (${h.misses} of ${this.config.healthFailures} in a row before it is marked unavailable): ${h.detail ?? ''}`);
      infos = kept;
    } else if (deep) this.misses.observe(infos);
    const before = new Map(this.advertised.map((a) => [a.name, a]));
    this.advertised = this.health.overlay(infos, Date.now(), proven);
    for (const a of this.advertised) {
      const was = before.get(a.name);
      if (a.available === false && was?.available !== false) this.log.warn({ executor: a.name, reason: a.reason, until: a.until }, `executor ${a.name} is unavailable: ${a.reason}`);
      else if (a.available && was?.available === false) this.log.info({ executor: a.name }, `executor ${a.name} is available again`);
      for (const m of a.model_faults ?? []) {
        if (!was?.model_faults?.some((f) => f.name === m.name)) this.log.warn({ executor: a.name, model: m.name, reason: m.reason }, `model ${m.name} is unavailable: ${m.reason}`);
      }
    }
    this.scheduleRecheck();
    return this.advertised;
  }

  /** Rechecks what is marked down when the health table says one is due. */
  private scheduleRecheck(): void {
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    this.recheckTimer = null;
    const at = this.health.nextRecheckAt(Date.now());
    if (at === null || this.stopped) return;
    this.recheckTimer = setTimeout(() => void this.recheck().catch((err) => this.log.warn({ err }, 'rechecking executors failed')), Math.max(0, at - Date.now()));
    this.recheckTimer.unref();
  }

  /** The periodic health check: every working executor proven again with a real generation (healthCheckMs). */
  private async periodicHealth(): Promise<void> {
    if (this.stopped || !this.conn.ready) return;
    this.sendAdvert(await this.advertise(true, true));
  }

  /** A deep recheck of every executor, sent to the hub at once (on schedule, or asked by an operator). */
  async recheck(): Promise<ExecutorAdvert[]> {
    const executors = await this.advertise(true);
    this.sendAdvert(executors);
    return executors;
  }

  /** An out-of-turn heartbeat carrying the executors, so the hub routes by them now. */
  private sendAdvert(executors: ExecutorAdvert[]): void {
    if (!this.conn.ready) return;
    this.conn.send({
      type: 'heartbeat',
      resources: this.lastResources ?? { cpu_count: 0, load_1m: 0, ram_total_mb: 0, ram_free_mb: 0, gpus: [] },
      tasks: this.state.all().map((h) => ({ task_id: h.task.id, generation: h.generation })),
      draining: this.draining,
      executors,
    });
  }

  /** Fills in repos from the hub's registry before each hello (the local config wins). */
  private async syncHubRepos(): Promise<void> {
    const hub = await fetchHubRepos(this.config.hubUrl, this.config.token, this.log);
    if (hub === null) return;
    try {
      this.workspaces.setHubRepos(hubOnlyRepos(this.config.repos, hub));
    } catch (err) {
      this.log.warn({ err }, 'the hub repo settings are not usable here: using the local repo config only');
    }
  }

  private async hello(): Promise<SidecarMessage> {
    await this.syncHubRepos();
    return {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      agent_id: this.config.agentId,
      token: this.config.token,
      capabilities: this.config.capabilities,
      executors: await this.advertise(true),
      repos: this.workspaces.repoNames(),
      max_concurrency: this.config.maxConcurrency,
      resources: await readHostResources({ nvidiaSmi: this.config.nvidiaSmi }),
      in_flight: this.state.all().map((h) => ({ task_id: h.task.id, generation: h.generation, state: h.state })),
      sidecar_version: SIDECAR_VERSION,
    };
  }

  private onReady(heartbeatMs: number): void {
    this.heartbeatMs = heartbeatMs;
    this.awaiting.clear(); // answers to the old connection's messages will not come
    this.clearRetries();
    this.startHeartbeat();
  }

  /**
   * Heartbeats renew the leases of the tasks held, so they run at the hub's interval or at half
   * the shortest lease held, whichever is shorter; recomputed whenever the held tasks change.
   */
  private startHeartbeat(): void {
    if (!this.conn.ready) return;
    this.stopHeartbeat();
    const leaseMs = Math.min(...this.state.all().map((h) => h.task.timeouts.lease_ms), Infinity);
    const every = Math.max(50, Math.min(this.heartbeatMs, leaseMs / 2));
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), every);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private async heartbeat(): Promise<void> {
    if (!this.conn.ready) return;
    const resources = await readHostResources({ nvidiaSmi: this.config.nvidiaSmi });
    this.lastResources = resources;
    // Executors and models change (a model pulled, Ollama restarted): re-advertise every
    // EXECUTOR_REFRESH heartbeats, not every one (describe() may ask a server or run a CLI).
    const refresh = ++this.heartbeats % EXECUTOR_REFRESH === 0;
    this.conn.send({
      type: 'heartbeat',
      resources,
      tasks: this.state.all().map((h) => ({ task_id: h.task.id, generation: h.generation })),
      draining: this.draining,
      ...(refresh ? { executors: await this.advertise() } : {}),
    });
  }

  private onMessage(msg: HubMessage): void {
    switch (msg.type) {
      case 'welcome':
        return; // handled by the connection ('ready')
      case 'task.assign':
        void this.onAssign(msg.task, msg.generation).catch((err) => this.log.error({ err }, 'handling an assignment failed'));
        return;
      case 'task.resume':
        void this.onResume(msg).catch((err) => this.log.error({ err }, 'resuming a task failed'));
        return;
      case 'executors.recheck':
        void this.recheck().catch((err) => this.log.warn({ err }, 'rechecking executors failed'));
        return;
      case 'task.drop':
      case 'task.cancel':
        void this.forget(msg.task_id, msg.generation, msg.reason).catch((err) => this.log.error({ err }, 'dropping a task failed'));
        return;
      case 'ack':
        void this.onAnswer(msg.id, null).catch((err) => this.log.error({ err }, 'handling an ack failed'));
        return;
      case 'error':
        if (msg.id === undefined) {
          // Progress of a run the hub already took back (sent before its cancel arrived) is
          // answered STALE_GENERATION: expected, not news.
          const about = msg.details as { task_id?: unknown; generation?: unknown } | undefined;
          if (msg.code === 'STALE_GENERATION' && typeof about?.task_id === 'string' && this.takenBack(about.task_id, Number(about.generation))) {
            this.log.debug({ task_id: about.task_id, generation: about.generation }, 'the hub refused progress of a task it took back');
            return;
          }
          this.log.warn({ code: msg.code }, `hub reported an error: ${msg.message}`);
          return;
        }
        void this.onAnswer(msg.id, msg).catch((err) => this.log.error({ err }, 'handling an error reply failed'));
        return;
    }
  }

  /** True when this sidecar no longer runs the task at that generation, or is stopping it because the hub took it back. */
  private takenBack(taskId: string, generation: number): boolean {
    const run = this.running.get(taskId);
    if (run?.generation === generation && run.abortedFor === 'dropped') return true;
    return this.state.get(taskId)?.generation !== generation;
  }

  private send(message: SidecarMessage, awaiting?: { kind: 'accept' | 'result' | 'reject'; taskId: string; generation: number }): void {
    if (this.conn.send(message) && awaiting && 'id' in message) this.awaiting.set(message.id, awaiting);
  }

  private async onAssign(task: Task, generation: number): Promise<void> {
    const log = this.log.child({ task_id: task.id, generation });
    // Tasks the hub already took back and that are only stopping do not hold a slot; but the
    // same task at a new generation waits until its old run has stopped (BUSY: offered again).
    const stopping = [...this.running.values()].filter((r) => r.abortedFor === 'dropped').length;
    const busy = this.state.size - stopping >= this.config.maxConcurrency || this.running.has(task.id) || this.state.get(task.id) !== undefined;
    const why = this.draining
      ? { code: 'DRAINING' satisfies ErrorCode, reason: 'the sidecar is shutting down' }
      : busy
        ? { code: 'BUSY' satisfies ErrorCode, reason: 'no free slot' }
        : this.runner.refusal(task, this.advertised);
    if (why) {
      log.info({ code: why.code }, `rejecting task: ${why.reason}`);
      this.send({ type: 'task.reject', id: this.nextId(), task_id: task.id, generation, ...why });
      return;
    }
    await this.state.set(task.id, { task, generation, state: 'assigned' });
    log.info({ title: task.title }, 'accepting task');
    this.send({ type: 'task.accept', id: this.nextId(), task_id: task.id, generation }, { kind: 'accept', taskId: task.id, generation });
  }

  private async onResume(msg: HubMessageOf<'task.resume'>): Promise<void> {
    const held = this.state.get(msg.task_id);
    if (!held || held.generation !== msg.generation) return;
    if (held.state === 'assigned') {
      this.send({ type: 'task.accept', id: this.nextId(), task_id: held.task.id, generation: held.generation }, { kind: 'accept', taskId: held.task.id, generation: held.generation });
    } else if (held.state === 'running') {
      if (!this.running.has(held.task.id)) {
        this.log.info({ task_id: held.task.id }, 'resuming a task interrupted by a sidecar restart');
        this.execute(held);
      }
    } else if (held.result) {
      this.send(held.result, { kind: 'result', taskId: held.task.id, generation: held.generation });
    }
  }

  /** The hub's answer to a message we sent: `err` null for ack. */
  private async onAnswer(id: string, err: HubMessageOf<'error'> | null): Promise<void> {
    const what = this.awaiting.get(id);
    if (!what) return;
    this.awaiting.delete(id);
    const held = this.state.get(what.taskId);
    if (!held || held.generation !== what.generation) return;
    if (what.kind === 'accept') {
      if (err) {
        if (err.retryable) {
          this.retryLater(held, () => ({ type: 'task.accept', id: this.nextId(), task_id: held.task.id, generation: held.generation }), 'accept');
          return;
        }
        this.log.warn({ task_id: what.taskId, code: err.code }, `hub refused our accept: ${err.message}`);
        await this.state.set(what.taskId, null);
        return;
      }
      // Several accepts may be answered (a resend after a reconnect and one after a retryable
      // error): only the first starts the work.
      if (held.state !== 'assigned') return;
      const running: HeldTask = { ...held, state: 'running' };
      await this.state.set(what.taskId, running);
      this.execute(running);
      return;
    }
    if (what.kind === 'reject') {
      const again = this.handingBack.get(what.taskId);
      if (err?.retryable && again) {
        this.retryLater(held, again, 'reject');
        return;
      }
      if (err) this.log.warn({ task_id: what.taskId, code: err.code }, `hub refused our hand-back: ${err.message}`);
      this.handingBack.delete(what.taskId);
      await this.state.set(what.taskId, null);
      this.startHeartbeat();
      return;
    }
    if (what.kind === 'result') {
      if (err?.retryable) {
        // Kept in state.json (the outbox) until the hub acknowledges it (STORE_DEGRADED: its disk is full).
        this.log.debug({ task_id: what.taskId, code: err.code }, 'the hub cannot take our result yet: keeping it, sending it again');
        this.retryLater(held, () => held.result!, 'result');
        return;
      }
      if (err) this.log.warn({ task_id: what.taskId, code: err.code }, `hub refused our result: ${err.message}`);
      await this.state.set(what.taskId, null);
      this.startHeartbeat();
    }
  }

  /**
   * The hub answered a retryable error (it is restarting, say): send the message again after a
   * while if the task is still held at that generation, or at the next reconnect, whichever comes first.
   */
  private retryLater(held: HeldTask, message: () => SidecarMessage, kind: 'accept' | 'result' | 'reject'): void {
    clearTimeout(this.retryTimers.get(held.task.id));
    const timer = setTimeout(() => {
      this.retryTimers.delete(held.task.id);
      const now = this.state.get(held.task.id);
      if (!now || now.generation !== held.generation || now.state !== held.state) return;
      this.send(message(), { kind, taskId: held.task.id, generation: held.generation });
    }, RETRY_AFTER_MS);
    timer.unref();
    this.retryTimers.set(held.task.id, timer);
  }

  /** A reconnect resends what is pending itself (hello, resume): pending retries are void. */
  private clearRetries(): void {
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
  }

  private execute(held: HeldTask): void {
    const { task, generation } = held;
    if (this.running.get(task.id)?.generation === generation) return; // already running
    const log = this.log.child({ task_id: task.id, generation });
    const abort = new AbortController();
    const entry: Running = { generation, abort, abortedFor: null, done: Promise.resolve() };
    const batcher = new ProgressBatcher((batch) => {
      // Once the hub took the task back, its lease is gone: what the run printed while it stopped
      // would only be refused (STALE_GENERATION).
      if (entry.abortedFor === 'dropped') return;
      this.conn.send({ type: 'task.progress', task_id: task.id, generation, seq: batch.seq, data: batch.items });
    });
    this.running.set(task.id, entry);
    this.startHeartbeat();
    log.info({ title: task.title }, 'task started');
    entry.done = (async () => {
      let outcome: RunOutcome;
      try {
        outcome = await this.runner.run(
          task,
          abort.signal,
          (p) => batcher.push(p),
          // Each iteration of the build–verify–fix loop is reported as a progress item of its own.
          (it) => batcher.push({ stream: 'status', data: `${JSON.stringify({ iteration: it.n, ok: it.executor.ok, verification: it.verification?.passed ?? null, usage: it.usage })}\n` }),
          (pgid) => {
            // Read now, synchronously: the child is not reaped yet, so its pid still names it.
            const proof = spawnProof(pgid);
            const current = this.state.get(task.id);
            if (current?.generation === generation) void this.state.set(task.id, { ...current, ...proof });
          },
        );
      } catch (err) {
        log.error({ err }, 'task run crashed');
        outcome = { ok: false, result: {}, error: taskFailure('SIDECAR_ERROR', (err as Error).message) };
      } finally {
        batcher.close();
        if (this.running.get(task.id) === entry) this.running.delete(task.id);
      }
      if (entry.abortedFor) return; // dropped, cancelled, or handed back: the hub expects no result
      if (outcome.hostFault) {
        await this.handBack(held, outcome.hostFault);
        return;
      }
      const id = this.nextId();
      const result: ResultMessage = outcome.question
        ? { type: 'task.ask', id, task_id: task.id, generation, question: outcome.question, result: outcome.result }
        : outcome.ok
          ? { type: 'task.complete', id, task_id: task.id, generation, result: outcome.result }
          : { type: 'task.fail', id, task_id: task.id, generation, error: outcome.error!, result: outcome.result };
      await this.state.set(task.id, { ...held, state: 'finished', result });
      log.info({ ok: outcome.ok, code: outcome.error?.code }, 'task finished');
      this.send(result, { kind: 'result', taskId: task.id, generation });
    })();
  }

  /**
   * The run failed because of this host (not logged in, Ollama gone, model not pulled, usage
   * limit): mark the executor or model down, tell the hub at once, and give the task back with
   * the executor's own message. The hub counts no attempt for it, and routes it elsewhere. The
   * task stays held until the hub acknowledges (after a reconnect it is resumed, fails the same
   * way fast, and is handed back again).
   */
  private async handBack(held: HeldTask, fault: HostFault): Promise<void> {
    const { task, generation } = held;
    this.health.report(fault, Date.now());
    this.sendAdvert(await this.advertise());
    this.log.warn({ task_id: task.id, executor: fault.executor, model: fault.model, code: fault.code }, `handing the task back: ${fault.message}`);
    const reject = (): SidecarMessage => ({
      type: 'task.reject',
      id: this.nextId(),
      task_id: task.id,
      generation,
      code: 'SIDECAR_EXECUTOR_UNAVAILABLE',
      reason: `${fault.code}: ${fault.message}`.slice(0, 2048),
    });
    this.handingBack.set(task.id, reject);
    this.send(reject(), { kind: 'reject', taskId: task.id, generation });
  }

  /** The hub took the task away (drop or cancel): stop it and forget it. */
  private async forget(taskId: string, generation: number, reason: string): Promise<void> {
    const held = this.state.get(taskId);
    if (!held || held.generation !== generation) return;
    const running = this.running.get(taskId);
    if (running) {
      running.abortedFor = 'dropped';
      running.abort.abort(new Error(reason));
      await running.done;
    }
    this.log.info({ task_id: taskId, reason }, 'task taken back by the hub');
    // Only if it is still that generation (a new assignment may have come while it stopped).
    if (this.state.get(taskId)?.generation === generation) await this.state.set(taskId, null);
  }

  /**
   * Graceful stop (SIGTERM): take no new work, let running tasks finish for up to the drain grace,
   * hand back what is still running, wait briefly for the last answers, then say goodbye.
   */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.log.info({ running: this.running.size, grace_ms: this.config.drainGraceMs }, 'draining');
    await this.heartbeat();
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    await Promise.race([all, new Promise((r) => setTimeout(r, this.config.drainGraceMs))]);
    for (const [taskId, r] of this.running) {
      r.abortedFor = 'drain';
      r.abort.abort(new Error('sidecar draining'));
      await r.done;
      this.send({ type: 'task.reject', id: this.nextId(), task_id: taskId, generation: r.generation, code: 'DRAINING' satisfies ErrorCode, reason: 'handed back: the sidecar is shutting down' });
      await this.state.set(taskId, null);
      this.log.info({ task_id: taskId }, 'handed a task back');
    }
    // Results still unacknowledged stay in the state file and are sent after the next start.
    const deadline = Date.now() + 5000;
    while (this.awaiting.size > 0 && this.conn.ready && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    this.conn.send({ type: 'goodbye', reason: 'drained' });
    await this.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.stopHeartbeat();
    this.clearRetries();
    for (const r of this.running.values()) {
      r.abortedFor ??= 'drain';
      r.abort.abort(new Error('sidecar stopping'));
    }
    await Promise.all([...this.running.values()].map((r) => r.done));
    await this.conn.stop();
  }
}
