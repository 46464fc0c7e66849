/**
 * The live feed: every durable task change, agent state change and task progress, pushed as JSON
 * to subscribed dashboards and CLIs. A subscriber that cannot keep up is disconnected rather
 * than allowed to grow the hub's memory.
 */
import type { WebSocket } from 'ws';
import type { ExecutorAlert } from '../agents/executor-watch.js';
import type { AgentView } from '../agents/registry.js';
import type { QueueStats, TaskChange } from '../store/task-store.js';
import { CLOSE } from './close-codes.js';

export type FeedMessage =
  /** First frame to a new subscriber: the agents as they are now and the queue's counts. */
  | { type: 'hello'; agents: AgentView[]; stats: QueueStats }
  | { type: 'task.changed'; task: TaskChange['task']; event: TaskChange['event'] }
  | { type: 'agent.changed'; agent: AgentView }
  /** Something an operator should know: an executor the fleet relied on is gone everywhere (or back). */
  | { type: 'alert'; alert: ExecutorAlert }
  | { type: 'task.progress'; task_id: string; generation: number; seq: number; agent_id: string; data: Array<{ stream: string; data: string }> };

/** Bytes a subscriber may have unsent before it is dropped. */
const MAX_BUFFERED = 8 * 1024 * 1024;

export class Feed {
  private readonly subscribers = new Set<WebSocket>();

  /** Adds a subscriber and sends it `first` (the snapshot) before any change. */
  add(ws: WebSocket, first: FeedMessage): void {
    ws.send(JSON.stringify(first));
    this.subscribers.add(ws);
    ws.on('close', () => this.subscribers.delete(ws));
    // A failed socket (a frame over the hard limit, a reset) gets nothing more; ws closes it, and
    // the socket error policy (socket-errors.ts) logs it and cuts it if the peer does not answer.
    ws.on('error', () => this.subscribers.delete(ws));
  }

  get size(): number {
    return this.subscribers.size;
  }

  publish(message: FeedMessage): void {
    if (this.subscribers.size === 0) return;
    const frame = JSON.stringify(message);
    for (const ws of this.subscribers) {
      if (ws.readyState !== ws.OPEN) continue;
      if (ws.bufferedAmount > MAX_BUFFERED) {
        ws.close(CLOSE.TOO_SLOW, 'feed subscriber too slow');
        this.subscribers.delete(ws);
        continue;
      }
      ws.send(frame);
    }
  }

  closeAll(): void {
    for (const ws of this.subscribers) ws.close(CLOSE.GOING_AWAY, 'hub shutting down');
    this.subscribers.clear();
  }
}
