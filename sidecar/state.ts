/**
 * The sidecar's local durable state: the tasks it holds and results the hub has not acknowledged.
 * Every change is written atomically (temp file, fsync, rename), so a sidecar killed at any
 * moment restarts with what it had, tells the hub in its hello, and sends each result until the
 * hub answers it.
 *
 * A file that is not a valid state file (garbage, empty, truncated, the wrong shape: see
 * state-schema.ts) is not believed in part: it is moved aside as `state.json.bad-<UTC time>`,
 * a warning says what was wrong, and the sidecar starts holding nothing. Its hello then lists no
 * tasks, so the hub reclaims whatever this sidecar held. The alternative, trusting what parses,
 * once left a sidecar running but never connecting (a held entry without its task).
 */
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { writeFileAtomic } from '../shared/atomic-file.js';
import type { SidecarMessageOf } from '../shared/protocol.js';
import type { Task } from '../shared/task.js';
import { stateFileProblem, type StateFileContent } from './state-schema.js';

export type ResultMessage = SidecarMessageOf<'task.complete'> | SidecarMessageOf<'task.fail'> | SidecarMessageOf<'task.ask'>;

export interface HeldTask {
  task: Task;
  generation: number;
  /** assigned: accept not yet acknowledged; running: working on it; finished: result not yet acknowledged. */
  state: 'assigned' | 'running' | 'finished';
  /** The process group of a running child process, so a restart can stop an orphan. */
  pgid?: number;
  /** The kernel boot the pgid belongs to: after a reboot the number may name another process. */
  boot_id?: string;
  /**
   * The start time of the process `pgid` names (/proc/<pid>/stat field 22, clock ticks since
   * boot), read at spawn: a restart kills the group only if that pid still has this start time.
   */
  pgid_start_ticks?: number;
  /** The run's SWITCHYARD_RUN_ID marker: a restart also kills processes that carry it. */
  run_id?: string;
  result?: ResultMessage;
}

type StateFile = StateFileContent<HeldTask>;

export class SidecarState {
  private tasks = new Map<string, HeldTask>();
  private writing: Promise<void> = Promise.resolve();
  private readonly path: string;

  /** @param log where a state file moved aside is reported (warn). @defaultValue silent */
  constructor(
    dataDir: string,
    private readonly log: Logger = pino({ level: 'silent' }),
  ) {
    this.path = join(dataDir, 'state.json');
  }

  /**
   * Reads the state file. A missing file is an empty state; an invalid one is moved aside and
   * also leaves the state empty. Only a file that cannot be read at all (EACCES, EIO) throws:
   * that is the host's to fix, and nothing was learnt about its content.
   */
  async load(): Promise<void> {
    let raw: string;
    try {
      raw = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    let value: unknown;
    let problem: string | null;
    try {
      value = JSON.parse(raw);
      problem = stateFileProblem(value);
    } catch (err) {
      problem = raw.trim() === '' ? 'the file is empty' : `not JSON (${(err as Error).message})`;
    }
    if (problem !== null) {
      await this.moveAside(problem);
      return;
    }
    this.tasks = new Map(Object.entries((value as StateFile).tasks));
  }

  private async moveAside(problem: string): Promise<void> {
    // UTC in ISO 8601 basic form (20250102T030405678Z): valid on every file system, sorts by time.
    const aside = `${this.path}.bad-${new Date().toISOString().replace(/[-:.]/g, '')}`;
    await rename(this.path, aside);
    this.log.warn(
      { path: this.path, moved_to: aside, problem },
      'the state file is not valid: moved it aside and starting with no held tasks; the hub will reclaim the tasks this sidecar held',
    );
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
