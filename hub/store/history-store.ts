/**
 * Project history, durable (docs/context.md, "History"): per repo, the newest entries live, the
 * older ones archived, both kept. They live in the agent store's database (so backups hold them
 * with it, hub/backup/stores.ts's `agents`), key spaces `hl!` (live) and `ha!` (archived):
 * `hl!<repo>!<seq, 12 digits>` -> HistoryEntry (JSON). Repo names cannot hold `!` (shared/ids.ts),
 * so one repo's range never takes in another's. An entry that falls out of the live window moves
 * from `hl!` to `ha!` in the same fsync'd batch that adds the new one: none is lost or doubled.
 */
import type { HistoryEntry } from '../../shared/context.js';
import { LevelAgentStore, type AgentStore } from './agent-store.js';
import { prefixRange, type KvOp } from './kv.js';

const LIVE = 'hl!';
const ARCHIVED = 'ha!';
const seqKey = (seq: number) => String(seq).padStart(12, '0');
const keyOf = (e: HistoryEntry) => `${e.archived ? ARCHIVED : LIVE}${e.repo}!${seqKey(e.seq)}`;

/** What the history service holds of one repo after a start: its newest entries and its counts. */
export interface RepoLoad {
  repo: string;
  /** The newest `hold` entries (every live one, however many), oldest first. */
  entries: HistoryEntry[];
  /** Live and archived entries on disk, all of them. */
  live: number;
  archived: number;
}

export interface HistoryStore {
  /**
   * Per repo, the newest `hold` entries and the counts of all, without reading the older archived
   * ones (a hub with a long history starts without reading it all into memory).
   */
  load(hold: number): Promise<RepoLoad[]>;
  /**
   * Adds `entries` (each under its own `archived` flag: an entry added and archived at once is
   * written once, archived) and moves `archive` (entries stored live) to the archive, in one
   * durable batch.
   */
  append(entries: readonly HistoryEntry[], archive: readonly HistoryEntry[]): Promise<void>;
  /**
   * A repo's archived entries older than `beforeSeq`, newest first, those `match` keeps, at most
   * `limit`: what a listing reads from disk past the entries the service holds in memory.
   */
  archivedBefore(repo: string, beforeSeq: number, limit: number, match: (e: HistoryEntry) => boolean): Promise<HistoryEntry[]>;
}

/** The history store in an agent store's database; in memory for any other agent store (tests). */
export function historyStoreOf(agents: AgentStore): HistoryStore {
  return agents instanceof LevelAgentStore ? new KvHistoryStore(agents) : new MemoryHistoryStore();
}

class KvHistoryStore implements HistoryStore {
  constructor(private readonly agents: LevelAgentStore) {}

  async load(hold: number): Promise<RepoLoad[]> {
    const kv = this.agents.kv;
    // Live entries are few per repo (the live window) and every repo has some (its newest are
    // live): read whole. Of the archived ones only the newest that memory holds are read, per
    // repo, newest first. Their count is the oldest live entry's seq less one: a repo's entries
    // are numbered 1, 2, 3... by one writer, the live ones are the newest, and none is removed (a
    // change that prunes must count otherwise).
    const live = new Map<string, HistoryEntry[]>();
    for await (const entries of kv.entries(prefixRange(LIVE))) {
      for (const [, raw] of entries) {
        const e = JSON.parse(raw) as HistoryEntry;
        const list = live.get(e.repo);
        if (list) list.push(e);
        else live.set(e.repo, [e]);
      }
    }
    const out: RepoLoad[] = [];
    for (const [repo, liveEntries] of [...live].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const archived = liveEntries[0]!.seq - 1;
      const want = Math.min(hold - liveEntries.length, archived);
      const older: HistoryEntry[] = [];
      if (want > 0) {
        const range = { ...prefixRange(`${ARCHIVED}${repo}!`), reverse: true, limit: want };
        for await (const entries of kv.entries(range, Math.min(want, 1000))) {
          for (const [, raw] of entries) older.push(JSON.parse(raw) as HistoryEntry);
        }
      }
      out.push({ repo, entries: [...older.reverse(), ...liveEntries], live: liveEntries.length, archived });
    }
    return out;
  }

  append(entries: readonly HistoryEntry[], archive: readonly HistoryEntry[]): Promise<void> {
    const ops: KvOp[] = entries.map((e) => ({ type: 'put', key: keyOf(e), value: JSON.stringify(e) }));
    for (const old of archive) {
      ops.push({ type: 'del', key: keyOf({ ...old, archived: false }) });
      ops.push({ type: 'put', key: keyOf({ ...old, archived: true }), value: JSON.stringify({ ...old, archived: true }) });
    }
    return this.agents.serial(() => this.agents.kv.write(ops, true));
  }

  async archivedBefore(repo: string, beforeSeq: number, limit: number, match: (e: HistoryEntry) => boolean): Promise<HistoryEntry[]> {
    const out: HistoryEntry[] = [];
    if (limit <= 0 || beforeSeq <= 1) return out;
    const range = { gte: `${ARCHIVED}${repo}!`, lt: `${ARCHIVED}${repo}!${seqKey(beforeSeq)}`, reverse: true };
    for await (const entries of this.agents.kv.entries(range, 200)) {
      for (const [, raw] of entries) {
        const e = JSON.parse(raw) as HistoryEntry;
        if (!match(e)) continue;
        out.push(e);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }
}

class MemoryHistoryStore implements HistoryStore {
  private readonly items = new Map<string, HistoryEntry>();

  load(hold: number): Promise<RepoLoad[]> {
    const byRepo = new Map<string, HistoryEntry[]>();
    for (const e of this.items.values()) {
      const list = byRepo.get(e.repo);
      if (list) list.push(e);
      else byRepo.set(e.repo, [e]);
    }
    return Promise.resolve(
      [...byRepo.keys()].sort().map((repo) => {
        const all = byRepo.get(repo)!.sort((a, b) => a.seq - b.seq);
        const live = all.filter((e) => !e.archived).length;
        return { repo, entries: all.slice(-Math.max(hold, live, 1)), live, archived: all.length - live };
      }),
    );
  }

  append(entries: readonly HistoryEntry[], archive: readonly HistoryEntry[]): Promise<void> {
    for (const entry of entries) this.items.set(`${entry.repo}!${entry.seq}`, entry);
    for (const old of archive) this.items.set(`${old.repo}!${old.seq}`, { ...old, archived: true });
    return Promise.resolve();
  }

  archivedBefore(repo: string, beforeSeq: number, limit: number, match: (e: HistoryEntry) => boolean): Promise<HistoryEntry[]> {
    const found = [...this.items.values()].filter((e) => e.repo === repo && e.archived && e.seq < beforeSeq && match(e));
    return Promise.resolve(found.sort((a, b) => b.seq - a.seq).slice(0, Math.max(0, limit)));
  }
}
