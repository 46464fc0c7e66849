/**
 * The dashboard bench's simulated dashboards, in their own process at the lowest CPU priority
 * (nice 19). Real dashboards run in operators' browsers, on their own machines; here they must
 * share the hub's cores, so they take only the CPU the hub and the fleet leave, instead of
 * competing with them as equals and charging the hub for work that is not its own. What they must
 * still prove is that they kept up: every socket gets every task change (counted in each batch
 * without parsing it) and none is dropped as too slow (close 4008).
 *
 * Run by bench/dashboard.ts over IPC: {cmd:'open', url, token, count} -> {opened};
 * {cmd:'stats'} -> {messages, changes: number[], closes: number[]}; {cmd:'close'}.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { FEED_BATCH_PROTOCOL, FEED_PROTOCOL } from '../shared/feed.js';

export interface ClientStats {
  /** WebSocket messages received, summed over the sockets. */
  messages: number;
  /** Task changes each socket received (inside its batches). */
  changes: number[];
  /** Close codes of sockets the hub closed before we did. */
  closes: number[];
}

type Command = { cmd: 'open'; url: string; token: string; count: number } | { cmd: 'stats' } | { cmd: 'close' };
type Request = { id: number } & Command;

const CHANGE = Buffer.from('"type":"task.changed"');

/** Task changes in one feed message: occurrences of the type tag (a task's own text cannot hold it unescaped). */
function countChanges(data: Buffer): number {
  let n = 0;
  for (let at = data.indexOf(CHANGE); at !== -1; at = data.indexOf(CHANGE, at + CHANGE.length)) n++;
  return n;
}

/** The parent's handle on the child. */
export class DashboardClients {
  private next = 1;
  private readonly waiting = new Map<number, (r: unknown) => void>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m) => {
      const { id, result } = m as { id: number; result: unknown };
      this.waiting.get(id)?.(result);
      this.waiting.delete(id);
    });
  }

  static start(): DashboardClients {
    const child = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    setPriority(child.pid!, 19);
    return new DashboardClients(child);
  }

  private call<R>(req: Command): Promise<R> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve as (r: unknown) => void);
      this.child.send({ ...req, id });
    });
  }

  open(url: string, token: string, count: number): Promise<{ opened: number }> {
    return this.call({ cmd: 'open', url, token, count });
  }

  stats(): Promise<ClientStats> {
    return this.call({ cmd: 'stats' });
  }

  close(): Promise<void> {
    return this.call({ cmd: 'close' });
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

function child(): void {
  let sockets: WebSocket[] = [];
  let stats: ClientStats = { messages: 0, changes: [], closes: [] };
  const reply = (id: number, result: unknown) => process.send!({ id, result });
  process.on('message', async (raw) => {
    const req = raw as Request;
    if (req.cmd === 'open') {
      stats = { messages: 0, changes: Array(req.count).fill(0), closes: [] };
      sockets = await Promise.all(
        Array.from({ length: req.count }, (_, i) => new Promise<WebSocket>((resolve, reject) => {
          // As the dashboard connects: the batch subprotocol, then the plain one, then the bearer entry.
          const ws = new WebSocket(req.url, [FEED_BATCH_PROTOCOL, FEED_PROTOCOL, `bearer.${req.token}`]);
          ws.on('message', (data: Buffer) => {
            stats.messages++;
            stats.changes[i]! += countChanges(data);
          });
          ws.on('close', (code) => { if (sockets.includes(ws)) stats.closes.push(code); });
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        })),
      );
      reply(req.id, { opened: sockets.length });
    } else if (req.cmd === 'stats') {
      reply(req.id, stats);
    } else {
      const closing = sockets;
      sockets = [];
      await Promise.all(closing.map((ws) => new Promise((resolve) => { ws.once('close', resolve); ws.close(); })));
      reply(req.id, null);
    }
  });
}

if (process.argv.includes('--child')) child();
