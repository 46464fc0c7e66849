/**
 * The sidecar's local durable state: the tasks it holds and results the hub has not acknowledged.
 * Every change is written atomically (temp file, fsync, rename), so a sidecar killed at any
 * moment restarts with what it had, tells the hub in its hello, and sends each result until the
 * hub answers it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../shared/atomic-file.js';
import type { SidecarMessageOf } from '../shared/protocol.js';
import type { Task } from '../shared/task.js';

export type ResultMessage = SidecarMessageOf<'task.complete'> | SidecarMessageOf<'task.fail'>;

export interface HeldTask {
  task: Task;
  generation: number;
  /** assigned: accept not yet acknowledged; running: working on it; finished: result not yet acknowledged. */
  state: 'assigned' | 'running' | 'finished';
  /** The process group of a running child process, so a restart can stop an orphan. */
  pgid?: number;
  /** The kernel boot the pgid belongs to: after a reboot the number may name another process. */
  boot_id?: string;
  result?: ResultMessage;
}

interface StateFile {
  version: 1;
  tasks: Record<string, HeldTask>;
}

export class SidecarState {
  private tasks = new Map<string, HeldTask>();
  private writing: Promise<void> = Promise.resolve();
  private readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'state.json');
  }

  async load(): Promise<void> {
    let raw: string;
    try {
      raw = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const file = JSON.parse(raw) as StateFile;
    this.tasks = new Map(Object.entries(file.tasks ?? {}));
  }

  all(): HeldTask[] {
    return [...this.tasks.values()];
  }

  get(taskId: string): HeldTask | undefined {
    return this.tasks.get(taskId);
  }

  get size(): number {
    return this.tasks.size;
  }

  /** Sets (or with null removes) a task and waits until the file on disk says so. */
  async set(taskId: string, held: HeldTask | null): Promise<void> {
    if (held) this.tasks.set(taskId, held);
    else this.tasks.delete(taskId);
    await this.persist();
  }

  private persist(): Promise<void> {
    // Writes are chained so the file always ends with the latest state; each caller waits for a
    // write that started after its change.
    const snapshot = (): string => JSON.stringify({ version: 1, tasks: Object.fromEntries(this.tasks) } satisfies StateFile);
    this.writing = this.writing.then(
      () => writeFileAtomic(this.path, snapshot()),
      () => writeFileAtomic(this.path, snapshot()),
    );
    return this.writing;
  }
}
