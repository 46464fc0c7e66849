/**
 * The project history, for every edge (REST, the CLI, MCP's get_task_history, the context
 * assembler): per repo, an entry per finished task; the newest `liveMax` live, older ones
 * archived and still searchable (docs/context.md). Held in memory (RepoHistory, indexed) over the
 * durable HistoryStore; entries are added one at a time on one chain, so their `seq` never repeats.
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
const DEFAULT_LIMIT = 100;

export class HistoryService {
  private readonly repos = new Map<string, RepoHistory>();
  /** Appends in order, one at a time (seq numbering reads the last one). */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: HistoryStore,
    private readonly now: () => number,
    private readonly liveMax = LIVE_MAX,
  ) {}

  async load(): Promise<void> {
    for (const e of await this.store.load()) this.repo(e.repo).add(e);
    for (const r of this.repos.values()) r.liveCount = r.entries.filter((e) => !e.archived).length;
  }

  /** Adds the entry for a finished task (durable before it resolves); moves the oldest live one to the archive past `liveMax`. */
  record(task: Task): Promise<HistoryEntry> {
    const run = this.chain.then(async () => {
      const r = this.repo(task.repo ?? NO_REPO);
      const entry: HistoryEntry = { ...entryOf(task, this.now()), seq: r.lastSeq + 1 };
      const overflow = Math.max(0, r.liveCount + 1 - this.liveMax);
      const firstLive = r.entries.length - r.liveCount;
      const moved = r.entries.slice(firstLive, firstLive + overflow);
      await this.store.append(entry, moved);
      for (const m of moved) m.archived = true;
      r.liveCount -= moved.length;
      r.add(entry);
      r.liveCount++;
      return entry;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** A repo's history, newest first: live (default), archived or all, filtered by words. */
  list(caller: Principal, repo: string, query: HistoryQuery = {}): HistoryList {
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
    }
    return { repo, live: r?.liveCount ?? 0, archived: r ? r.entries.length - r.liveCount : 0, entries: out };
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
