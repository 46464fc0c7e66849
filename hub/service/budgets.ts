/**
 * Budgets per repo (docs/usage.md): a daily limit on cost, tokens or both, and what the repo's
 * tasks do at it (`wait` for a paid executor until the next UTC day, or run on a `local` one).
 * Today's spend is the store's usage cells (in memory), so every question here costs a map
 * lookup per budget, never a scan: the scheduler asks `blockedRepos()` on every placement.
 *
 * `budget.changed` goes on the bus when a budget is set or removed, when a repo reaches its
 * limit (`exhausted`), and when a new UTC day unblocks it (`day`, from `tick()`).
 */
import { SwitchyardError } from '../../shared/errors.js';
import { utcDay, type Budget, type BudgetBody, type BudgetList, type BudgetView, type OnLimit } from '../../shared/usage.js';
import type { BudgetStore } from '../store/budget-store.js';
import type { TaskChange, TaskStore } from '../store/task-store.js';
import { Access, type Principal } from './access.js';
import type { AuditService } from './audit.js';
import type { HubBus } from './bus.js';

const NONE: ReadonlyMap<string, OnLimit> = new Map();

export class BudgetService {
  private readonly budgets = new Map<string, Budget>();
  /** Repos at their limit when last looked (for `exhausted` and `day` events). */
  private readonly exhausted = new Set<string>();
  private day = '';

  constructor(
    private readonly records: BudgetStore,
    private readonly store: TaskStore,
    private readonly bus: HubBus,
    private readonly now: () => number,
    private readonly audit?: AuditService,
  ) {}

  /** Loads the stored budgets (at start). */
  async load(): Promise<void> {
    for (const b of await this.records.list()) this.budgets.set(b.repo, b);
    this.day = utcDay(this.now());
    for (const repo of this.budgets.keys()) if (this.view(repo).blocked) this.exhausted.add(repo);
  }

  list(caller: Principal): BudgetList {
    Access.authorize(caller, 'budgets.read');
    return { budgets: [...this.budgets.keys()].sort().map((repo) => this.view(repo)) };
  }

  async set(caller: Principal, repo: string, body: BudgetBody): Promise<BudgetView> {
    Access.authorize(caller, 'budgets.write');
    if (body.cost_usd_per_day === undefined && body.tokens_per_day === undefined) {
      throw new SwitchyardError('BUDGET_INVALID', 'a budget needs cost_usd_per_day, tokens_per_day or both', { repo });
    }
    const b: Budget = {
      repo,
      cost_usd_per_day: body.cost_usd_per_day ?? null,
      tokens_per_day: body.tokens_per_day ?? null,
      on_limit: body.on_limit ?? 'wait',
      set_at: this.now(),
      set_by: caller.actor,
    };
    const detail = [b.cost_usd_per_day !== null ? `$${b.cost_usd_per_day}/day` : '', b.tokens_per_day !== null ? `${b.tokens_per_day} tokens/day` : '', `on limit: ${b.on_limit}`].filter(Boolean).join(', ');
    await this.records.put(repo, b, this.audit?.ops(caller, 'budgets.set', repo, detail));
    this.budgets.set(repo, b);
    const view = this.view(repo);
    if (view.blocked) this.exhausted.add(repo);
    else this.exhausted.delete(repo);
    this.bus.emit('budget.changed', { repo, reason: 'set', budget: view });
    return view;
  }

  async remove(caller: Principal, repo: string): Promise<void> {
    Access.authorize(caller, 'budgets.write');
    if (!(await this.records.remove(repo, this.audit?.ops(caller, 'budgets.removed', repo)))) {
      throw new SwitchyardError('BUDGET_NOT_FOUND', `no budget for repo ${repo}`, { repo });
    }
    this.budgets.delete(repo);
    this.exhausted.delete(repo);
    this.bus.emit('budget.changed', { repo, reason: 'removed', budget: null });
  }

  /** A repo's budget with today's spend. */
  view(repo: string): BudgetView {
    const b = this.budgets.get(repo)!;
    const day = utcDay(this.now());
    const spent = this.store.usageOfRepo(repo, day);
    const tokens = spent.input_tokens + spent.output_tokens;
    const shares = [b.cost_usd_per_day !== null ? spent.cost_usd / b.cost_usd_per_day : 0, b.tokens_per_day !== null ? tokens / b.tokens_per_day : 0];
    const percent = Math.round(Math.max(...shares) * 1000) / 10;
    const blocked = (b.cost_usd_per_day !== null && spent.cost_usd >= b.cost_usd_per_day) || (b.tokens_per_day !== null && tokens >= b.tokens_per_day);
    return { ...b, day, spent_cost_usd: spent.cost_usd, spent_tokens: tokens, percent, blocked };
  }

  /** Every budget with today's spend (alerts read it; no authorization: in-process only). */
  views(): BudgetView[] {
    return [...this.budgets.keys()].map((repo) => this.view(repo));
  }

  /** What a repo's tasks do about paid executors now: false (no limit reached), or its `on_limit`. */
  paidBlocked(repo: string | null): false | OnLimit {
    if (repo === null) return false;
    const b = this.budgets.get(repo);
    return b && this.view(repo).blocked ? b.on_limit : false;
  }

  /** The repos at their limit now, with their `on_limit` (what matching reads). */
  blockedRepos(): ReadonlyMap<string, OnLimit> {
    if (this.budgets.size === 0) return NONE;
    let out: Map<string, OnLimit> | null = null;
    for (const [repo, b] of this.budgets) if (this.view(repo).blocked) (out ??= new Map()).set(repo, b.on_limit);
    return out ?? NONE;
  }

  /** After a durable change: a repo whose spend grew may have reached its limit. */
  changed(change: TaskChange): void {
    const repo = change.task.repo;
    if (repo === null || change.task.usage === change.before?.usage || !this.budgets.has(repo) || this.exhausted.has(repo)) return;
    const view = this.view(repo);
    if (!view.blocked) return;
    this.exhausted.add(repo);
    this.bus.emit('budget.changed', { repo, reason: 'exhausted', budget: view });
  }

  /** On a timer: a new UTC day unblocks every repo that was at its limit. */
  tick(): void {
    const day = utcDay(this.now());
    if (day === this.day) return;
    this.day = day;
    for (const repo of [...this.exhausted]) {
      const view = this.view(repo);
      if (view.blocked) continue;
      this.exhausted.delete(repo);
      this.bus.emit('budget.changed', { repo, reason: 'day', budget: view });
    }
  }
}
