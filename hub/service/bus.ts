/**
 * The hub's in-process event bus: what happened, typed, for the features that follow it (the
 * scheduler, the live feed, progress tails, alerts; later ChatOps and the dashboard). Each feature
 * subscribes in its own fastify plugin and unsubscribes when the hub stops, instead of being wired
 * inline in app.ts.
 *
 * Delivery is synchronous and in subscription order (the scheduler, subscribed first, has
 * followed a lease change before the feed reports it), and a listener that throws is logged and
 * skipped: one feature's bug must not keep the others from an event, nor reach the store's
 * commit path that emitted it.
 */
import type { Alert } from '../../shared/alerts.js';
import type { BudgetView } from '../../shared/usage.js';
import type { ExecutorAlert } from '../../shared/feed.js';
import type { BackupManifest, BackupOutcome } from '../../shared/rest.js';
import type { StoreRecovery } from '../../shared/rest.js';
import type { Repo } from '../../shared/repos.js';
import type { AgentRegistry, LiveAgent } from '../agents/registry.js';
import type { TaskChange, TaskStore } from '../store/task-store.js';

export interface HubEvents {
  /** A task change made durable, in commit order (the store's onChange). */
  'task.changed': TaskChange;
  /** An agent connected, disconnected, advertised, or its leases or state changed (the registry's). */
  'agent.changed': LiveAgent;
  /** The task store stopped taking writes (a failed write; the hub needs a restart), or took them again. */
  'store.health': { healthy: boolean; at: number; reason?: string };
  /** Something an operator should know: today an executor gone from (or back on) the whole fleet. */
  alert: ExecutorAlert;
  /**
   * A backup finished (scheduled or on demand): ok with its folder and manifest, or failed with
   * the error's code and message (what an alerts engine follows; docs/operations.md).
   */
  'backup.done': BackupOutcome & { manifest?: BackupManifest };
  /**
   * The hub found a damaged store at start and repaired, restored or kept it (hub/recovery/):
   * emitted once, after the features subscribed and before the hub listens. For alerts.
   */
  'store.recovered': StoreRecovery;
  /** An alert of the rules engine fired, repeated (critical, unacknowledged), was acknowledged or cleared (hub/alerts/). */
  'alert.changed': Alert;
  /** The routing policy in force changed (set, reset to the default): agents' route capabilities follow. */
  'routing.changed': { source: 'default' | 'file' | 'api' };
  /** A repo of the registry was added, changed, paused, resumed, moved or removed (service/repos.ts), once durable. */
  'repo.changed': { repo: Repo; change: 'added' | 'updated' | 'paused' | 'resumed' | 'moved' | 'removed' };
  /** A repo's budget was set or removed, the repo reached its limit, or a new UTC day unblocked it (docs/usage.md). */
  'budget.changed': { repo: string; reason: 'set' | 'removed' | 'exhausted' | 'day'; budget: BudgetView | null };
}

export type Listener<T> = (event: T) => void;

export class EventBus<E extends object> {
  /** Copied on change, never while emitting: a listener may unsubscribe (or add one) mid-event. */
  private readonly listeners = new Map<keyof E, ReadonlyArray<Listener<never>>>();

  constructor(
    /** Told about a listener that threw. @defaultValue ignores it */
    private readonly onListenerError: (err: unknown, type: keyof E) => void = () => undefined,
  ) {}

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof E>(type: K, listener: Listener<E[K]>): () => void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener as Listener<never>]);
    return () => {
      const now = this.listeners.get(type) ?? [];
      const i = now.indexOf(listener as Listener<never>);
      if (i >= 0) this.listeners.set(type, [...now.slice(0, i), ...now.slice(i + 1)]);
    };
  }

  emit<K extends keyof E>(type: K, event: E[K]): void {
    const list = this.listeners.get(type);
    if (!list) return;
    for (const listener of list as ReadonlyArray<Listener<E[K]>>) {
      try {
        listener(event);
      } catch (err) {
        this.onListenerError(err, type);
      }
    }
  }

  /** Listeners of `type`: a publisher may skip building an event nobody follows. */
  count(type: keyof E): number {
    return this.listeners.get(type)?.length ?? 0;
  }
}

export type HubBus = EventBus<HubEvents>;

/** Feeds the bus from its sources: the store's durable changes and the registry's agent changes. */
export function connectBus(bus: HubBus, store: TaskStore, registry: AgentRegistry): () => void {
  const offStore = store.onChange((change) => bus.emit('task.changed', change));
  const onAgent = (agent: LiveAgent) => bus.emit('agent.changed', agent);
  registry.on('changed', onAgent);
  return () => {
    offStore();
    registry.off('changed', onAgent);
  };
}
