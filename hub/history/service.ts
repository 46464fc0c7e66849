/**
 * The project history, for every edge (REST, the CLI, MCP's get_task_history, the context
 * assembler): per repo, an entry per finished task; the newest `liveMax` live, older ones
 * archived and still searchable (docs/context.md). Held in memory (RepoHistory, indexed) over the
 * durable HistoryStore. Entries are written by one writer, in order, so their `seq` never repeats;
 * the entries of tasks that finish while a write is on disk go together in the next one (one
 * fsync'd batch for many finished tasks: at thousands of tasks a second, one write each fell behind
 * and its backlog grew in memory, docs/benchmarks.md).
 */
import type { HistoryEntry, HistoryList, HistoryQuery } from '../../shared/context.js';
import type { Task } from '../../shared/task.js';
import type { HistoryStore } from '../store/history-store.js';
import { Access, type Principal } from '../service/access.js';
import { entryOf, NO_REPO } from './entry.js';
import { RepoHistory, type ScoredEntry, type TaskTerms } from './index.js';
import { wordsOf } from './terms.js';

/** Entries that stay live per repo. */
export const LIVE_MAX = 100;
/** Entries held in memory per repo (live and the newest archived), by default; older ones are read from disk. */
export const MEMORY_MAX = 10_000;
const DEFAULT_LIMIT = 100;
/** Entries written in one batch at most. */
const MAX_BATCH = 1000;

interface PendingEntry {
  task: Task;
  resolve: (entry: HistoryEntry) => void;
  reject: (err: unknown) => void;
}

/** One repo's part of a batch being prepared: its numbering and live count as if the batch had landed. */
interface RepoPlan {
  repo: RepoHistory;
  lastSeq: number;
  added: HistoryEntry[];
  /** Stored live entries this batch moves to the archive (the oldest live ones). */
  archiving: number;
}

export class HistoryService {
  private readonly repos = new Map<string, RepoHistory>();
  /** Finished tasks whose entries wait for the writer. */
  private pending: PendingEntry[] = [];
  private writing = false;

  private readonly memoryMax: number;

  /**
   * @param memoryMax entries held in memory per repo (at least `liveMax`): the live ones and the
   *   newest archived, which the assembler scores; a listing reads older archived ones from disk.
   *   Memory holds between `memoryMax` and twice that before the oldest half is let go.
   */
  constructor(
    private readonly store: HistoryStore,
    private readonly now: () => number,
    private readonly liveMax = LIVE_MAX,
    memoryMax = MEMORY_MAX,
  ) {
    this.memoryMax = Math.max(memoryMax, liveMax, 1);
  }

  /** Holds each repo's newest `memoryMax` entries (older archived ones stay on disk, counted). */
  async load(): Promise<void> {
    for (const loaded of await this.store.load(this.memoryMax)) {
      const r = this.repo(loaded.repo);
      for (const e of loaded.entries) r.add(e);
      r.liveCount = loaded.live;
      r.archivedCount = loaded.archived;
    }
  }

  /** Keeps a repo's entries in memory under twice `memoryMax` (see the constructor). */
  private trim(r: RepoHistory): void {
    if (r.entries.length >= 2 * this.memoryMax) r.dropOldest(r.entries.length - this.memoryMax);
  }

  /** Adds the entry for a finished task (durable before it resolves); moves the oldest live ones to the archive past `liveMax`. */
  record(task: Task): Promise<HistoryEntry> {
    return new Promise((resolve, reject) => {
      this.pending.push({ task, resolve, reject });
      if (!this.writing) void this.write();
    });
  }

  /** The one writer: takes what waits, writes it as one batch, and again until nothing waits. */
  private async write(): Promise<void> {
    this.writing = true;
    try {
      while (this.pending.length > 0) {
        const jobs = this.pending.length <= MAX_BATCH ? this.pending : this.pending.slice(0, MAX_BATCH);
        this.pending = jobs === this.pending ? [] : this.pending.slice(MAX_BATCH);
        await this.writeBatch(jobs);
      }
    } finally {
      this.writing = false;
    }
  }

  private async writeBatch(jobs: PendingEntry[]): Promise<void> {
    // Number the entries and choose what leaves the live window as if they were added one at a
    // time; memory changes only once the batch is on disk (a failed write leaves it as it was).
    const plans = new Map<string, RepoPlan>();
    const entries: HistoryEntry[] = [];
    const waiting: PendingEntry[] = [];
    for (const job of jobs) {
      const name = job.task.repo ?? NO_REPO;
      let plan = plans.get(name);
      if (!plan) {
        const repo = this.repo(name);
        plans.set(name, (plan = { repo, lastSeq: repo.lastSeq, added: [], archiving: 0 }));
      }
      let entry: HistoryEntry;
      try {
        entry = { ...entryOf(job.task, this.now()), seq: plan.lastSeq + 1 };
      } catch (err) {
        job.reject(err);
        continue;
      }
      plan.lastSeq = entry.seq;
      plan.added.push(entry);
      entries.push(entry);
      waiting.push(job);
    }
    const moved: HistoryEntry[] = [];
    for (const plan of plans.values()) {
      const r = plan.repo;
      let overflow = Math.max(0, r.liveCount + plan.added.length - this.liveMax);
      const firstLive = r.entries.length - r.liveCount;
      plan.archiving = Math.min(overflow, r.liveCount);
      for (let i = 0; i < plan.archiving; i++) moved.push(r.entries[firstLive + i]!);
      overflow -= plan.archiving;
      // More new entries than the live window holds: the oldest of them go straight to the archive.
      for (let i = 0; i < overflow; i++) plan.added[i]!.archived = true;
    }
    try {
      if (entries.length > 0) await this.store.append(entries, moved);
    } catch (err) {
      for (const job of waiting) job.reject(err);
      return;
    }
    for (const m of moved) m.archived = true;
    for (const plan of plans.values()) {
      const r = plan.repo;
      r.liveCount -= plan.archiving;
      r.archivedCount += plan.archiving;
      for (const entry of plan.added) {
        r.add(entry);
        if (entry.archived) r.archivedCount++;
        else r.liveCount++;
      }
      this.trim(r);
    }
    waiting.forEach((job, i) => job.resolve(entries[i]!));
  }

  /**
   * A repo's history, newest first: live (default), archived or all, filtered by words. Past the
   * entries held in memory, archived ones are read from disk (newest first, as far as `limit`).
   */
  async list(caller: Principal, repo: string, query: HistoryQuery = {}): Promise<HistoryList> {
    Access.authorize(caller, 'history.read');
    const r = this.repos.get(repo);
    const { scope = 'live', limit = DEFAULT_LIMIT } = query;
    const words = query.q ? query.q.toLowerCase().split(/\s+/).filter(Boolean) : [];
    const out: HistoryEntry[] = [];
    if (r) {
      for (let i = r.entries.length - 1; i >= 0 && out.length < limit; i--) {
        const e = r.entries[i]!;
        if (scope === 'live' && e.archived) break;
        if (scope === 'archived' && !e.archived) continue;
        if (words.length && !matchesWords(e, words)) continue;
        out.push(e);
      }
      const oldestHeld = r.entries[0]?.seq ?? 1;
      if (scope !== 'live' && out.length < limit && oldestHeld > 1) {
        out.push(...(await this.store.archivedBefore(repo, oldestHeld, limit - out.length, (e) => !words.length || matchesWords(e, words))));
      }
    }
    return { repo, live: r?.liveCount ?? 0, archived: r?.archivedCount ?? 0, entries: out };
  }

  /** The entries of the task's repo most relevant to it (hub/history/index.ts's scoring). */
  relevant(task: Pick<Task, 'repo' | 'id' | 'title' | 'description' | 'context'>, limit = 50): ScoredEntry[] {
    const r = this.repos.get(task.repo ?? NO_REPO);
    if (!r) return [];
    return r.score(termsOfTask(task), limit + 1).filter((s) => s.entry.task_id !== task.id).slice(0, limit);
  }

  private repo(name: string): RepoHistory {
    let r = this.repos.get(name);
    if (!r) this.repos.set(name, (r = new RepoHistory()));
    return r;
  }
}

/** What a task is about, for scoring: its named files and the words of its title and description. */
export function termsOfTask(task: Pick<Task, 'title' | 'description' | 'context'>): TaskTerms {
  return { files: task.context.files ?? [], words: wordsOf(`${task.title} ${task.description} ${task.context.notes ?? ''}`, 64) };
}

function matchesWords(e: HistoryEntry, words: string[]): boolean {
  const hay = [e.title, e.task_id, e.outcome, e.commit ?? '', ...e.files, ...e.decisions, ...e.answers.map((a) => `${a.question} ${a.answer ?? ''}`), e.summary ?? '', e.error ?? ''].join('\n').toLowerCase();
  return words.every((w) => hay.includes(w));
}
