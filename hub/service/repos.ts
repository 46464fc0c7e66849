/**
 * The repo registry (docs/repos.md): repos kept at the hub with their settings, priority and
 * status. Records live in the agents database (store/repo-store.ts) and in memory here, loaded at
 * start, so that the scheduling hooks (`priorityOf`, `holdOf`, evaluated per ready-index
 * signature on every pick) are a map lookup. Each change is one batch with its audit entry, then
 * announced on the bus as `repo.changed` (the scheduler fills free agents when a repo resumes).
 */
import { agentRepoOf, type AgentRepo, type Repo, type RepoAddBody, type RepoPatchBody } from '../../shared/repos.js';
import type { TaskSpec } from '../../shared/task.js';
import { notFound, type RepoStore } from '../store/repo-store.js';
import { Access, type Principal } from './access.js';
import type { AuditService } from './audit.js';
import type { HubBus } from './bus.js';

/** What changed, with `repo.changed`. */
export type RepoChange = 'added' | 'updated' | 'paused' | 'resumed' | 'moved' | 'removed';

/** The highest priority first; among equals the repo registered first, then by name. */
const ahead = (a: Repo, b: Repo): number => b.priority - a.priority || a.created_at - b.created_at || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export class RepoService {
  private readonly repos = new Map<string, Repo>();

  constructor(
    private readonly store: RepoStore,
    private readonly bus: HubBus,
    private readonly now: () => number,
    private readonly audit?: AuditService,
  ) {}

  /** Loads the registry (at start). */
  async load(): Promise<void> {
    this.repos.clear();
    for (const r of await this.store.list()) this.repos.set(r.name, r);
  }

  /** Every repo, the highest priority first. */
  list(caller: Principal): Repo[] {
    Access.authorize(caller, 'repos.read');
    return [...this.repos.values()].sort(ahead);
  }

  get(caller: Principal, name: string): Repo {
    Access.authorize(caller, 'repos.read');
    return this.known(name);
  }

  /** The settings a sidecar takes (GET /v1/agent/repos); the route has authenticated the agent. */
  forAgents(): AgentRepo[] {
    return [...this.repos.values()].sort(ahead).map(agentRepoOf);
  }

  async add(caller: Principal, body: RepoAddBody): Promise<Repo> {
    Access.authorize(caller, 'repos.write');
    const at = this.now();
    const repo: Repo = {
      name: body.name,
      url: body.url,
      default_branch: body.default_branch ?? 'main',
      test_command: body.test_command ?? null,
      priority: body.priority ?? 0,
      status: 'active',
      paused_reason: '',
      created_at: at,
      updated_at: at,
    };
    return this.write(caller, repo, 'added', 'absent', `${repo.url} (priority ${repo.priority})`);
  }

  async update(caller: Principal, name: string, patch: RepoPatchBody): Promise<Repo> {
    Access.authorize(caller, 'repos.write');
    const next: Repo = { ...this.known(name), ...patch, updated_at: this.now() };
    const change = Object.keys(patch).length === 1 && patch.priority !== undefined ? 'moved' : 'updated';
    return this.write(caller, next, change, 'present', Object.keys(patch).sort().join(', '));
  }

  async move(caller: Principal, name: string, priority: number): Promise<Repo> {
    Access.authorize(caller, 'repos.write');
    return this.write(caller, { ...this.known(name), priority, updated_at: this.now() }, 'moved', 'present', `priority ${priority}`);
  }

  /** Its queued tasks wait (they do not fail) until it is resumed. */
  async pause(caller: Principal, name: string, reason = ''): Promise<Repo> {
    Access.authorize(caller, 'repos.write');
    return this.write(caller, { ...this.known(name), status: 'paused', paused_reason: reason, updated_at: this.now() }, 'paused', 'present', reason);
  }

  async resume(caller: Principal, name: string): Promise<Repo> {
    Access.authorize(caller, 'repos.write');
    return this.write(caller, { ...this.known(name), status: 'active', paused_reason: '', updated_at: this.now() }, 'resumed', 'present');
  }

  /** Removes the record; tasks naming the repo are untouched (they keep their `repo`). */
  async remove(caller: Principal, name: string): Promise<void> {
    Access.authorize(caller, 'repos.write');
    const repo = this.known(name);
    await this.store.remove(name, this.audit?.ops(caller, 'repos.removed', name));
    this.repos.delete(name);
    this.bus.emit('repo.changed', { repo, change: 'removed' });
  }

  /** A repo's priority for the ready index (0 for a repo the registry does not hold). */
  priorityOf(name: string): number {
    return this.repos.get(name)?.priority ?? 0;
  }

  /** Why a repo's tasks wait (it is paused), or null. */
  holdOf(name: string): string | null {
    const r = this.repos.get(name);
    if (r?.status !== 'paused') return null;
    return `repo ${name} is paused${r.paused_reason ? `: ${r.paused_reason}` : ''}`;
  }

  /** The highest-priority active repo, or null when the registry holds none. */
  defaultRepo(): Repo | null {
    let best: Repo | null = null;
    for (const r of this.repos.values()) if (r.status === 'active' && (!best || ahead(r, best) < 0)) best = r;
    return best;
  }

  /**
   * A coding task (docs/repos.md) that names no repo takes the default repo, and says so in
   * `repo_reason`. Only the hub sets `repo_reason`: a client's own is dropped. Specs that are not
   * objects are left for the store to refuse.
   */
  withDefaultRepo(spec: TaskSpec): TaskSpec {
    if (typeof spec !== 'object' || spec === null) return spec;
    const { repo_reason: _dropped, ...own } = spec;
    if (own.repo !== undefined || !isCodingTask(own)) return own;
    const repo = this.defaultRepo();
    if (!repo) return own;
    return { ...own, repo: repo.name, repo_reason: `no repo given: took the highest-priority active repo '${repo.name}' (priority ${repo.priority})` };
  }

  private known(name: string): Repo {
    const repo = this.repos.get(name);
    if (!repo) throw notFound(name);
    return repo;
  }

  private async write(caller: Principal, repo: Repo, change: RepoChange, expect: 'absent' | 'present', detail = ''): Promise<Repo> {
    await this.store.put(repo, expect, this.audit?.ops(caller, `repos.${change}`, repo.name, detail));
    this.repos.set(repo.name, repo);
    this.bus.emit('repo.changed', { repo, change });
    return repo;
  }
}

/**
 * Work of a model on code: a task for the claude or ollama executor, or one that names no
 * executor and no command (the sidecar then picks a model executor: sidecar/task-runner.ts's
 * `chooseExecutor`). A shell command is not.
 */
export function isCodingTask(spec: Pick<TaskSpec, 'executor' | 'command'>): boolean {
  if (spec.executor !== undefined) return spec.executor === 'claude' || spec.executor === 'ollama';
  return spec.command === undefined;
}
