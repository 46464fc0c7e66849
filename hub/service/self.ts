/**
 * What an agent may do with its own token, for the host's lifecycle commands (`switchyard
 * onboard` verifies, `status` reports, `teardown` deregisters). Nothing here reaches another
 * agent or the fleet; agent tokens stay refused on every admin route. The smoke task's command
 * is the hub's, not the caller's: an agent token cannot queue work of its own.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Task } from '../../shared/task.js';
import type { Authenticator } from '../auth/authenticator.js';
import { bearer } from '../auth/tokens.js';
import { validateSpec } from '../queue/normalize.js';
import type { AgentStore } from '../store/agent-store.js';
import type { TaskStore } from '../store/task-store.js';
import type { AgentService } from './agents.js';
import { withRoutingCapabilities } from './routing.js';

/** What the smoke task runs: proves the host's shell executor, its scratch workspace and its result path. */
export const SMOKE_COMMAND = 'echo "switchyard smoke test: $(uname -sm) on $(hostname)"; pwd';

interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const isSmoke = (t: Task, agentId: string) => t.created_by === `agent:${agentId}` && (t.metadata as Record<string, unknown>).smoke === true;

export class SelfService {
  constructor(
    private readonly agents: AgentStore,
    /** The operators' agent service: one view of an agent, one way to remove one. */
    private readonly agentService: AgentService,
    private readonly auth: Authenticator,
    private readonly store: TaskStore,
  ) {}

  /** The calling agent's id, from its own token in an `Authorization: Bearer …` header. */
  agentOf(header: string | undefined): string {
    const token = bearer(header);
    const who = this.auth.identify(token);
    if (!who || who.kind !== 'agent') {
      throw new SwitchyardError(
        'UNAUTHORIZED',
        token ? 'not an agent token of this hub (the agent was removed, or its token was reissued)' : 'missing bearer token: send Authorization: Bearer <agent token>',
      );
    }
    return who.agentId;
  }

  async view(id: string) {
    const record = await this.agents.get(id);
    if (!record) throw new SwitchyardError('UNAUTHORIZED', `agent ${id} is not registered any more`);
    return this.agentService.viewOf(record);
  }

  /** Deregister: the token stops working, the connection ends, held tasks go back to the queue. */
  async deregister(id: string, log: Log): Promise<void> {
    await this.agentService.cutOff(id, 'agent deregistered itself', log);
  }

  /** Queues the hub's fixed smoke task, delegated to this agent only. */
  async smoke(id: string): Promise<Task> {
    const spec = withRoutingCapabilities(
      validateSpec(
        {
          title: `Smoke test of ${id}`,
          description: 'Queued by switchyard onboard: proves that this agent takes, runs and reports a task.',
          executor: 'shell',
          command: SMOKE_COMMAND,
          agent: id,
          lane: 'urgent',
          max_attempts: 1,
          timeouts: { start_ms: 30_000, lease_ms: 60_000, overall_ms: 120_000 },
          metadata: { smoke: true },
        },
        'smoke task',
      ),
    );
    return (await this.store.create(spec, `agent:${id}`)).task;
  }

  /** A task delegated to or leased by this agent (or its own smoke task), with its events. */
  async task(id: string, taskId: string) {
    const task = await this.own(id, taskId);
    const events = await this.store.events({ taskId: task.id, limit: 1000 });
    return { task, events: events.items };
  }

  async cancelSmoke(id: string, taskId: string): Promise<Task> {
    const task = await this.own(id, taskId);
    if (!isSmoke(task, id)) throw new SwitchyardError('FORBIDDEN', 'an agent may cancel only the smoke tasks it queued');
    return this.store.cancel(task.id, `agent:${id}`, 'smoke task abandoned by switchyard onboard');
  }

  private async own(id: string, taskId: string): Promise<Task> {
    const task = await this.store.get(taskId);
    // Another agent's task is reported as missing, not as forbidden: it reveals nothing.
    if (!task || (task.agent !== id && task.lease?.agent_id !== id && !isSmoke(task, id))) throw new SwitchyardError('TASK_NOT_FOUND', `no task ${taskId} of agent ${id}`);
    return task;
  }
}
