/**
 * The hub's backups as a service: takes one (on demand, or when the schedule says), one at a
 * time, tells the bus (`backup.done`) and the log how it went, and keeps what `/v1/health`
 * shows (`backups`: the last one's time and result, the next one's time, how many are kept).
 * The snapshot and copy are hub/backup/'s; the timer is the backups feature's.
 */
import type { Logger } from 'pino';
import { SwitchyardError } from '../../shared/errors.js';
import type { BackupEntry, BackupHealth, BackupOutcome } from '../../shared/rest.js';
import { listBackups, takeBackup, type BackupResult, type SnapshotSources } from '../backup/index.js';
import type { AgentStore } from '../store/agent-store.js';
import type { KvSnapshot } from '../store/kv.js';
import type { TaskStore } from '../store/task-store.js';
import type { HubBus } from './bus.js';

export interface BackupSettings {
  dataDir: string;
  /** 0: no schedule. */
  everyMs: number;
  keep: number;
  log?: Logger;
}

export class BackupService {
  private last: BackupOutcome | null = null;
  private kept = 0;
  private running: Promise<BackupResult> | null = null;
  /** A request that came while one ran: it runs next, once, for everyone who asked meanwhile. */
  private queued: Promise<BackupResult> | null = null;
  private readonly abort = new AbortController();
  private readonly sources: SnapshotSources;
  private readonly startedAt: number;

  constructor(
    private readonly settings: BackupSettings,
    store: TaskStore,
    agents: AgentStore,
    private readonly bus: HubBus,
    private readonly now: () => number,
  ) {
    this.startedAt = now();
    const snapshotOf = (name: string, s: { snapshot?: () => KvSnapshot }) => () => {
      if (!s.snapshot) throw new SwitchyardError('BACKUP_FAILED', `the ${name} store cannot be backed up online (it offers no snapshot)`);
      return s.snapshot();
    };
    this.sources = { tasks: snapshotOf('tasks', store), agents: snapshotOf('agents', agents) };
  }

  /** Reads what backups the data folder holds already: the newest is the last one, for health and the schedule. */
  async load(): Promise<void> {
    const list = await listBackups(this.settings.dataDir).catch(() => []);
    this.kept = list.length;
    const newest = list[0];
    if (newest && !this.last) this.last = { at: newest.manifest.created_at, ok: true, took_ms: newest.manifest.took_ms, dir: newest.dir };
  }

  /**
   * Takes a backup now and answers once it is verified. A request while one runs waits for it,
   * then gets a backup of its own (taken after it asked).
   */
  backup(): Promise<BackupResult> {
    if (!this.running) return this.start();
    if (!this.queued) {
      this.queued = this.running.then(
        () => undefined,
        () => undefined,
      ).then(() => {
        this.queued = null;
        return this.start();
      });
    }
    return this.queued;
  }

  private start(): Promise<BackupResult> {
    const run = this.take();
    this.running = run;
    const clear = () => {
      if (this.running === run) this.running = null;
    };
    run.then(clear, clear);
    return run;
  }

  private async take(): Promise<BackupResult> {
    const at = this.now();
    const { dataDir, keep, log } = this.settings;
    if (this.abort.signal.aborted) throw new SwitchyardError('HUB_SHUTTING_DOWN', 'the hub is shutting down');
    if (!dataDir) throw new SwitchyardError('BACKUP_FAILED', 'this hub was built without a data folder: it has nowhere to put backups');
    log?.info('backup started');
    try {
      const result = await takeBackup({ dataDir, keep, sources: this.sources, now: this.now, signal: this.abort.signal, ...(log ? { log } : {}) });
      this.last = { at, ok: true, took_ms: this.now() - at, dir: result.dir };
      this.kept = (await listBackups(dataDir).catch(() => [])).length;
      log?.info({ dir: result.dir, took_ms: this.last.took_ms, tasks: result.manifest.tasks, events: result.manifest.events }, 'backup verified');
      this.bus.emit('backup.done', { ...this.last, manifest: result.manifest });
      return result;
    } catch (err) {
      const e = err instanceof SwitchyardError ? err : new SwitchyardError('BACKUP_FAILED', (err as Error).message, undefined, { cause: err });
      this.last = { at, ok: false, took_ms: this.now() - at, error: { code: e.code, message: e.message } };
      if (this.abort.signal.aborted) log?.info({ err: e }, 'backup abandoned: the hub is stopping');
      else log?.error({ err: e }, 'backup failed');
      this.bus.emit('backup.done', this.last);
      throw e;
    }
  }

  list(): Promise<BackupEntry[]> {
    return listBackups(this.settings.dataDir);
  }

  /**
   * When the next scheduled backup is due: `everyMs` after the last one (kept from before a
   * restart, so restarts neither skip nor repeat one), or after the start when there is none;
   * null when the schedule is off.
   */
  nextAt(): number | null {
    if (this.settings.everyMs <= 0) return null;
    return (this.last ? this.last.at : this.startedAt) + this.settings.everyMs;
  }

  health(): BackupHealth {
    return { last: this.last, next_at: this.nextAt(), running: this.running !== null, kept: this.kept };
  }

  /** Stops a running backup (between chunks) and waits for it to let go of the stores. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([this.running, this.queued]);
  }
}
