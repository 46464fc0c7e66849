/**
 * The conformance suite's factory: every test in tests/queue/ obtains its store from
 * `openTestStore`, which opens the backend the vitest project names (vitest.config.ts provides
 * `storeBackend`: `level`, a real LevelDB task store in a fresh temp folder, or `memory`, the same
 * store over an in-memory Kv), driven by a fake clock and deterministic randomness. Plus helpers
 * that read everything the store holds, through the TaskStore interface only, so a test can show
 * that a refused operation wrote nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { SwitchyardError, type ErrorCode } from '../../shared/errors.js';
import type { Task, TaskEvent, TaskSpec, TaskStatus } from '../../shared/task.js';
import type { TaskStoreOptions } from '../../hub/store/kv-task-store.js';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import { MemoryKv } from '../../hub/store/memory-kv.js';
import { openMemoryTaskStore } from '../../hub/store/memory-task-store.js';
import type { AgentFilter, TaskStore } from '../../hub/store/task-store.js';
import { ask } from '../../hub/workflow/rules.js';

export type BackendName = 'level' | 'memory';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The task store backend the conformance suite runs against in this project. */
    storeBackend: BackendName;
  }
}

/** A clock that moves only when told to. Starts at a round, realistic time. */
export class FakeClock {
  constructor(public t = 1_700_000_000_000) {}
  readonly now = (): number => this.t;
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}

/** mulberry32: a small seeded PRNG, so ids and jitter repeat from run to run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function makeTempDir(prefix = 'switchyard-queue-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface TestStore {
  store: TaskStore;
  clock: FakeClock;
  /** Closes the store and opens the same contents again (same clock and options). */
  reopen(): Promise<TaskStore>;
  /** Closes the store and deletes what it held. */
  dispose(): Promise<void>;
}

/** A LevelDB test store: also its folder, for the tests that are about the folder itself. */
export interface LevelTestStore extends TestStore {
  dir: string;
}

/** Opens a fresh store of one backend; the options are complete (defaults already laid in). */
export type StoreFactory = (options: Partial<TaskStoreOptions>, clock: FakeClock) => Promise<TestStore>;

async function openLevel(options: Partial<TaskStoreOptions>, clock: FakeClock): Promise<LevelTestStore> {
  const dir = await makeTempDir();
  const handle: LevelTestStore = {
    store: await openTaskStore(dir, options),
    clock,
    dir,
    async reopen() {
      await handle.store.close();
      handle.store = await openTaskStore(dir, options);
      return handle.store;
    },
    async dispose() {
      await handle.store.close();
      await removeDir(dir);
    },
  };
  return handle;
}

async function openMemory(options: Partial<TaskStoreOptions>, clock: FakeClock): Promise<TestStore> {
  let kv = new MemoryKv();
  const handle: TestStore = {
    store: await openMemoryTaskStore(options, kv),
    clock,
    async reopen() {
      await handle.store.close();
      kv = kv.reopen();
      handle.store = await openMemoryTaskStore(options, kv);
      return handle.store;
    },
    async dispose() {
      await handle.store.close();
    },
  };
  return handle;
}

/** Every backend the conformance suite runs against (one vitest project each). */
export const BACKENDS: Readonly<Record<BackendName, StoreFactory>> = { level: openLevel, memory: openMemory };

/** The backend of this vitest project; LevelDB outside the conformance projects. */
export function backendName(): BackendName {
  return inject('storeBackend') ?? 'level';
}

function testOptions(options: Partial<TaskStoreOptions>, clock: FakeClock): Partial<TaskStoreOptions> {
  return { now: clock.now, random: seededRandom(42), autoSweep: false, ...options };
}

/**
 * Opens a store of this project's backend with a fake clock, seeded randomness and no timers.
 * `options` override those defaults (e.g. `starvationMs`, `backoff`).
 */
export function openTestStore(options: Partial<TaskStoreOptions> = {}, clock = new FakeClock()): Promise<TestStore> {
  return BACKENDS[backendName()](testOptions(options, clock), clock);
}

/** The same, always on LevelDB in a temp folder: for tests that are about LevelDB itself. */
export function openLevelTestStore(options: Partial<TaskStoreOptions> = {}, clock = new FakeClock()): Promise<LevelTestStore> {
  return openLevel(testOptions(options, clock), clock);
}

/** Every task and every event, read through the public API (pages followed to the end). */
export async function allTasks(store: TaskStore): Promise<Task[]> {
  const out: Task[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.list({ limit: 1000, ...(after !== undefined ? { after } : {}) });
    out.push(...page.items);
    if (page.next === null) return out;
    after = page.next;
  }
}

export async function allEvents(store: TaskStore, taskId?: string): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.events({
      limit: 1000,
      ...(taskId !== undefined ? { taskId } : {}),
      ...(after !== undefined ? { after } : {}),
    });
    out.push(...page.items);
    if (page.next === null) return out;
    after = page.next;
  }
}

/** A picture of everything durable, to compare before and after an operation that must change nothing. */
export async function snapshot(store: TaskStore): Promise<{ tasks: Task[]; events: TaskEvent[] }> {
  return { tasks: await allTasks(store), events: await allEvents(store) };
}

/** Runs `op`, expects a SwitchyardError with `code`, and returns it. */
export async function expectCode(op: Promise<unknown> | (() => Promise<unknown>), code: ErrorCode): Promise<SwitchyardError> {
  let err: unknown;
  try {
    await (typeof op === 'function' ? op() : op);
  } catch (e) {
    err = e;
  }
  if (!(err instanceof SwitchyardError)) {
    throw new Error(`expected SwitchyardError ${code}, got ${err === undefined ? 'success' : String(err)}`);
  }
  if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`);
  return err;
}

/** A minimal valid spec. */
export function spec(title: string, extra: Partial<TaskSpec> = {}): TaskSpec {
  return { title, ...extra };
}

/** An agent filter; `repos` undefined means any repo. */
export function agent(agentId: string, capabilities: string[] = [], repos?: string[] | null): AgentFilter {
  return { agentId, capabilities, ...(repos !== undefined ? { repos } : {}) };
}

/** Leases the next task for `who` and accepts it; fails the test if nothing comes. */
export async function leaseAndAccept(store: TaskStore, who: AgentFilter): Promise<Task> {
  const leased = await store.leaseNext(who);
  if (!leased) throw new Error(`nothing to lease for ${who.agentId}`);
  return store.accept(leased.id, leased.generation, who.agentId);
}

/** The (from -> to) transitions of one task, in order. */
export async function transitionsOf(store: TaskStore, taskId: string): Promise<string[]> {
  return (await allEvents(store, taskId)).map((e) => `${e.from ?? '∅'}->${e.to}`);
}

/** The agent most tests lease with: no capabilities, any repo, and any routed task whatever its candidate (it acts on the store directly). */
export const A0: AgentFilter = { agentId: 'a0', capabilities: [], anyRoute: true };

/**
 * A fresh task brought to `status` by the ordinary operations (leases by A0). A pending task
 * waits on a new queued blocker; `extra` goes into the spec.
 */
export async function makeTaskIn(store: TaskStore, status: TaskStatus, extra: Partial<TaskSpec> = {}): Promise<Task> {
  if (status === 'pending') {
    const blocker = (await store.create(spec('blocker'), 'test')).task;
    return (await store.create(spec(`in ${status}`, { ...extra, depends_on: [blocker.id] }), 'test')).task;
  }
  const created = (await store.create(spec(`in ${status}`, { ...(status === 'review' ? { review: true } : {}), ...extra }), 'test')).task;
  if (status === 'queued') return created;
  if (status === 'cancelled') return store.cancel(created.id, 'test');
  const leased = await store.leaseTask(created.id, A0);
  if (!leased) throw new Error('makeTaskIn: could not lease');
  if (status === 'assigned') return leased;
  const running = await store.accept(leased.id, leased.generation, 'a0');
  if (status === 'running') return running;
  if (status === 'blocked') return store.applyRule(running.id, ask(running.generation, 'a0', { text: 'which way?' }));
  if (status === 'review' || status === 'completed') return store.complete(running.id, running.generation, 'a0', { done: true });
  if (status === 'failed' || status === 'dead_letter') {
    return store.fail(running.id, running.generation, 'a0', { code: 'TEST_FAILURE', message: 'failed on purpose', retryable: status === 'failed' });
  }
  throw new Error(`makeTaskIn: unknown status ${status}`);
}
