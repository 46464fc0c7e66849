/**
 * The escalation queue (docs/workflow.md, "Escalations"): what needs a person — a circuit
 * breaker that opened, a plan or high-risk work awaiting approval, a question unanswered too long,
 * a delegated task no agent took — each with a priority, listed and resolved by operators (REST,
 * `switchyard escalations`; later the dashboard and ChatOps). One open escalation per kind and
 * task at a time; a resolved one stays as history. The workflow feature raises and resolves them
 * from the bus's changes and the watchdog's timers; the alert rules `circuit_open` and
 * `escalation_open` read the open ones (hub/workflow/alert-rules.ts).
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Escalation, EscalationKind } from '../../shared/workflow.js';
import type { EscalationStore } from '../store/escalation-store.js';
import { ulidGenerator, type IdGenerator } from '../store/ids.js';
import type { Raise } from '../workflow/escalations.js';
import { Access, type Principal } from './access.js';

export interface EscalationQuery {
  status?: 'open' | 'resolved' | 'all';
  kind?: EscalationKind;
  task?: string;
  limit?: number;
}

/** Resolved escalations kept (the oldest go first). */
const HISTORY = 1000;
const PRIORITY_ORDER = { critical: 0, high: 1, normal: 2 } as const;

export class EscalationService {
  private readonly items = new Map<string, Escalation>();
  private readonly ids: IdGenerator;
  private loaded: Promise<void> | null = null;
  /** Told after each raise or resolve (the feature runs an alert check, so a breaker alerts at once). */
  onChange: (e: Escalation) => void = () => undefined;

  constructor(
    private readonly store: EscalationStore,
    private readonly now: () => number,
  ) {
    this.ids = ulidGenerator(now);
  }

  load(): Promise<void> {
    this.loaded ??= this.store.load().then((all) => {
      for (const e of all) {
        this.items.set(e.id, e);
        this.ids.seed(e.id);
      }
    });
    return this.loaded;
  }

  /** Open first, by priority then age; resolved newest first. */
  list(caller: Principal, query: EscalationQuery = {}): Escalation[] {
    Access.authorize(caller, 'escalations.read');
    const status = query.status ?? 'open';
    const out = [...this.items.values()].filter(
      (e) => (status === 'all' || e.status === status) && (query.kind === undefined || e.kind === query.kind) && (query.task === undefined || e.task_id === query.task),
    );
    out.sort((a, b) => (a.status === b.status ? (a.status === 'open' ? PRIORITY_ORDER[a.priority] - PRIORITY_ORDER[b.priority] || cmp(a.id, b.id) : cmp(b.id, a.id)) : a.status === 'open' ? -1 : 1));
    return out.slice(0, query.limit ?? 100);
  }

  get(caller: Principal, id: string): Escalation {
    Access.authorize(caller, 'escalations.read');
    const e = this.items.get(id);
    if (!e) throw new SwitchyardError('ESCALATION_NOT_FOUND', `no escalation ${id}; list them with switchyard escalations`, { id });
    return e;
  }

  /** An operator resolves an escalation (whatever they did about it, said in `resolution`). */
  async resolve(caller: Principal, id: string, resolution?: string): Promise<Escalation> {
    Access.authorize(caller, 'escalations.write');
    await this.load();
    const e = this.get(caller, id);
    if (e.status === 'resolved') return e;
    return this.close(e, caller.actor, resolution ?? 'resolved by operator');
  }

  /** Open escalations, for the alert rules (in memory, no I/O). */
  open(): Escalation[] {
    return [...this.items.values()].filter((e) => e.status === 'open');
  }

  openFor(taskId: string, kind: EscalationKind): Escalation | undefined {
    for (const e of this.items.values()) if (e.status === 'open' && e.task_id === taskId && e.kind === kind) return e;
    return undefined;
  }

  /** Raises an escalation unless one of its kind is open for the task already. */
  async raise(taskId: string, r: Raise): Promise<Escalation> {
    await this.load();
    const existing = this.openFor(taskId, r.kind);
    if (existing) return existing;
    const e: Escalation = {
      id: this.ids(),
      kind: r.kind,
      priority: r.priority,
      task_id: taskId,
      title: r.title,
      message: r.message,
      created_at: this.now(),
      status: 'open',
      resolved_at: null,
      resolved_by: null,
      resolution: null,
    };
    this.items.set(e.id, e);
    try {
      await this.store.write([e]);
    } catch (err) {
      this.items.delete(e.id);
      throw err;
    }
    this.onChange(e);
    return e;
  }

  /** Resolves the open escalation of `kind` for a task, if any (the task moved on). */
  async resolveFor(taskId: string, kind: EscalationKind, by: string, resolution: string): Promise<Escalation | null> {
    await this.load();
    const e = this.openFor(taskId, kind);
    return e ? this.close(e, by, resolution) : null;
  }

  private async close(e: Escalation, by: string, resolution: string): Promise<Escalation> {
    const done: Escalation = { ...e, status: 'resolved', resolved_at: this.now(), resolved_by: by, resolution };
    const drop = this.prune();
    await this.store.write([done], drop);
    this.items.set(done.id, done);
    for (const id of drop) this.items.delete(id);
    this.onChange(done);
    return done;
  }

  /** The oldest resolved ones beyond HISTORY (the one being resolved now counts). */
  private prune(): string[] {
    const resolved = [...this.items.values()].filter((e) => e.status === 'resolved').sort((a, b) => cmp(a.id, b.id));
    const over = resolved.length + 1 - HISTORY;
    return over > 0 ? resolved.slice(0, over).map((e) => e.id) : [];
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
