/**
 * What an agent does on its own leases when it is not a sidecar (an MCP client, docs/mcp.md):
 * claim a task (lease + accept, as a sidecar's offer and accept), renew the lease, read a task
 * it holds or asked about. The same store operations the agent gateway calls, fenced the same
 * way: the agent id comes from the caller's token, never from its arguments, and a stale
 * generation is refused (STALE_GENERATION) by the store.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Task } from '../../shared/task.js';
import type { OnLimit } from '../../shared/usage.js';
import type { TaskStore } from '../store/task-store.js';
import { Access, type Principal } from './access.js';

export interface ClaimRequest {
  /** What the agent can do: only tasks whose capabilities it all has are claimed. @defaultValue none */
  capabilities?: readonly string[];
  /** Repos it works on; absent: any repo. */
  repos?: readonly string[] | null;
  /** One named queued task instead of the best one. */
  taskId?: string;
}

export class WorkerService {
  constructor(
    private readonly store: TaskStore,
    /** Repos at their daily budget (docs/usage.md): a worker's claims keep to them as a sidecar's leases do. @defaultValue none */
    private readonly blockedRepos: () => ReadonlyMap<string, OnLimit> = () => new Map(),
  ) {}

  /** The best queued task for this agent (or the named one), leased and accepted (running); null when none is ready. */
  async claim(caller: Principal, req: ClaimRequest = {}): Promise<Task | null> {
    Access.authorize(caller, 'tasks.claim');
    const agentId = agentIdOf(caller);
    // An MCP worker is its own model: routing's candidates (route:…) do not bind it (docs/routing.md).
    const filter = { agentId, capabilities: [...(req.capabilities ?? [])], repos: req.repos ? [...req.repos] : null, anyRoute: true, blocked: this.blockedRepos() };
    const offered = req.taskId !== undefined ? await this.store.leaseTask(req.taskId, filter) : await this.store.leaseNext(filter);
    if (!offered?.lease) return null;
    return this.store.accept(offered.id, offered.lease.generation, agentId);
  }

  /** Extends the caller's lease (renew at half its length: `lease.expires_at`). */
  async renew(caller: Principal, taskId: string, generation: number): Promise<Task> {
    Access.authorize(caller, 'tasks.claim');
    return this.store.renew(taskId, generation, agentIdOf(caller));
  }

  /** A task as its agent may see it: one it holds, or one it asked a question on, or one delegated to it. */
  async own(caller: Principal, taskId: string): Promise<Task> {
    Access.authorize(caller, 'tasks.claim');
    const agentId = agentIdOf(caller);
    const task = await this.store.get(taskId);
    if (!task) throw new SwitchyardError('TASK_NOT_FOUND', `no task ${taskId}`, { task_id: taskId });
    const mine = task.lease?.agent_id === agentId || task.agent === agentId || (task.clarifications ?? []).some((c) => c.asked_by === agentId);
    if (!mine) throw new SwitchyardError('NOT_LEASE_HOLDER', `task ${taskId} is not leased to ${agentId}`, { task_id: taskId });
    return task;
  }

  /** Requeues expired leases now (the sweeper runs on timers too): the operator's. */
  async sweep(caller: Principal): Promise<number> {
    Access.authorize(caller, 'tasks.write');
    return this.store.sweep();
  }
}

function agentIdOf(caller: Principal): string {
  if (caller.kind !== 'agent') throw new SwitchyardError('FORBIDDEN', 'only an agent token may hold leases: use an agent token for worker tools', {});
  return caller.agentId;
}
