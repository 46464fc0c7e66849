/**
 * The audit log (docs/security.md, "Audit"): every change a person or a token made. Task changes
 * are the task events (written with the change itself); the hub's other changes are audit entries
 * (hub/store/audit-store.ts). `list` merges both in time order, filtered by actor, action and
 * time, reading at most `MAX_SCAN` records per call (it says when it stopped early).
 */
import type { AuditEntry, AuditPage, AuditQuery, ActorKind } from '../../shared/audit.js';
import type { TaskEvent } from '../../shared/task.js';
import type { AuditStore } from '../store/audit-store.js';
import type { KvOp } from '../store/kv.js';
import type { TaskStore } from '../store/task-store.js';
import type { TokenStore } from '../store/token-store.js';
import { Access, type Principal } from './access.js';

const MAX_SCAN = 10_000;
const DAY_MS = 86_400_000;

export class AuditService {
  constructor(
    readonly store: AuditStore,
    private readonly tasks: TaskStore,
    private readonly tokens: TokenStore,
    private readonly now: () => number,
  ) {}

  /** An entry for a change `caller` made, to write with the change (`store.op`) or after it (`record`). */
  entry(caller: Principal | 'hub', action: string, subject: string, detail = ''): AuditEntry {
    const actor = caller === 'hub' ? 'hub' : caller.actor;
    const actor_kind: ActorKind = caller === 'hub' ? 'hub' : actorKindOf(caller);
    return { at: this.now(), actor, actor_kind, action, subject, detail: detail.slice(0, 2000) };
  }

  /** The puts of a change's entry, for the batch that makes the change (agents, tokens, limits). */
  ops(caller: Principal | 'hub', action: string, subject: string, detail = ''): KvOp[] {
    return [this.store.op(this.entry(caller, action, subject, detail))];
  }

  async record(caller: Principal | 'hub', action: string, subject: string, detail = ''): Promise<void> {
    await this.store.append(this.entry(caller, action, subject, detail));
  }

  async list(caller: Principal, query: AuditQuery = {}): Promise<AuditPage> {
    Access.authorize(caller, 'audit.read');
    const now = this.now();
    const since = query.since ?? now - DAY_MS;
    const until = query.until ?? now + 1;
    const limit = query.limit ?? 100;
    const { entries: own, truncated: ownCut } = await this.store.range(since, until, MAX_SCAN);
    const events = await this.taskEvents(since, until);
    const kinds = new Map((await this.tokens.list()).map((t) => [`token:${t.name}`, t.kind as ActorKind]));
    const fromEvents: AuditEntry[] = events.items.map((e) => ({
      at: e.at,
      actor: e.actor,
      actor_kind: kindOfActor(e.actor, kinds),
      action: e.from === null ? 'task.created' : `task.${e.to}`,
      subject: e.task_id,
      detail: e.reason,
    }));
    const matches = (a: AuditEntry) =>
      (query.hub === true || a.actor_kind !== 'hub') && prefixMatch(a.actor, query.actor, ':') && prefixMatch(a.action, query.action, '.');
    const all = [...own, ...fromEvents].filter(matches).sort((a, b) => a.at - b.at);
    const page = all.slice(0, limit);
    const more = all.length > limit || ownCut || events.truncated;
    const last = page[page.length - 1];
    return { entries: page, next_since: more && last ? last.at + 1 : null, truncated: ownCut || events.truncated };
  }

  private async taskEvents(since: number, until: number): Promise<{ items: TaskEvent[]; truncated: boolean }> {
    const items: TaskEvent[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.tasks.events({ since, limit: 1000, ...(after ? { after } : {}) });
      for (const e of page.items) {
        if (e.at >= until) return { items, truncated: false };
        items.push(e);
      }
      if (!page.next) return { items, truncated: false };
      if (items.length >= MAX_SCAN) return { items, truncated: true };
      after = page.next;
    }
  }
}

function prefixMatch(value: string, filter: string | undefined, sep: string): boolean {
  if (filter === undefined) return true;
  return filter.endsWith(sep) ? value.startsWith(filter) : value === filter;
}

function actorKindOf(who: Principal): ActorKind {
  if (who.kind === 'agent') return 'agent';
  if ('tokenId' in who && typeof who.tokenId === 'string' && who.tokenId.startsWith('slack:')) return 'slack';
  return who.kind;
}

/** The kind of a task event's actor, from its text. */
function kindOfActor(actor: string, tokens: ReadonlyMap<string, ActorKind>): ActorKind {
  if (actor === 'admin' || actor.startsWith('admin ')) return 'admin';
  if (actor.startsWith('agent:')) return 'agent';
  if (actor.startsWith('slack:')) return 'slack';
  if (actor.startsWith('token:')) return tokens.get(actor) ?? 'operator';
  return 'hub';
}
