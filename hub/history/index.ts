/**
 * One repo's history in memory, with an inverted index of the terms each entry is about, so the
 * context assembler scores only the entries that share a term with the task (docs/context.md,
 * "Scoring"): at 10,000 entries, a task's few dozen terms touch a few hundred postings, not every
 * entry (bench:context measures it).
 *
 * Terms: `f:<path>` per file, `d:<folder>` per file's folder, `w:<word>` per word of the title,
 * decisions, answers and summary (hub/history/terms.ts).
 */
import type { HistoryEntry } from '../../shared/context.js';
import { folderOf, normalPath, wordsOf } from './terms.js';

/** Score weights (docs/context.md). */
export const WEIGHTS = { file: 3, folder: 1, recency: 0.5 } as const;

export interface ScoredEntry {
  entry: HistoryEntry;
  score: number;
  /** How many of the task's files the entry touched. */
  fileHits: number;
}

export interface TaskTerms {
  files: readonly string[];
  words: readonly string[];
}

export class RepoHistory {
  /** Oldest first; `entries[i].seq` increases with i. */
  readonly entries: HistoryEntry[] = [];
  private readonly postings = new Map<string, number[]>();
  /** How many entries are live (the newest `live` of `entries`). */
  liveCount = 0;
  /** How many of the repo's entries are archived, on disk, whether or not `entries` still holds them. */
  archivedCount = 0;
  /** Scratch space of score(), per entry index; zero between calls. */
  private scores = new Float64Array(0);
  private hits = new Uint16Array(0);

  get lastSeq(): number {
    return this.entries.length ? this.entries[this.entries.length - 1]!.seq : 0;
  }

  add(entry: HistoryEntry): void {
    const at = this.entries.length;
    this.entries.push(entry);
    this.index(entry, at);
  }

  private index(entry: HistoryEntry, at: number): void {
    for (const term of termsOfEntry(entry)) {
      const list = this.postings.get(term);
      if (list) list.push(at);
      else this.postings.set(term, [at]);
    }
  }

  /**
   * Lets go of the oldest `n` entries held (they stay on disk, archived) and indexes the rest
   * again. The caller drops many at a time (half of what it holds), so the re-index costs about
   * one index per entry added.
   */
  dropOldest(n: number): void {
    if (n <= 0) return;
    this.entries.splice(0, n);
    this.postings.clear();
    for (let i = 0; i < this.entries.length; i++) this.index(this.entries[i]!, i);
  }

  /**
   * Entries sharing a term with the task, best first: Σ over shared terms of its weight (a file
   * 3, a folder 1, a word ln(1 + N/df): rarer words count more) + recency (0.5 × seq / last seq).
   */
  score(terms: TaskTerms, limit: number): ScoredEntry[] {
    const n = this.entries.length;
    if (n === 0 || limit <= 0) return [];
    // Typed arrays kept between calls and a list of the entries touched, instead of a Map of
    // objects: at 10,000 entries a task touches thousands of postings, and the Map's allocations
    // were most of the time (bench:context: p50 15 ms before, see docs/benchmarks.md after).
    if (this.scores.length < n) {
      this.scores = new Float64Array(Math.max(n, this.scores.length * 2));
      this.hits = new Uint16Array(this.scores.length);
    }
    const scores = this.scores;
    const hits = this.hits;
    const touched: number[] = [];
    const bump = (term: string, weight: number, file: boolean) => {
      const list = this.postings.get(term);
      if (!list) return;
      for (const i of list) {
        if (scores[i] === 0) touched.push(i);
        scores[i] = scores[i]! + weight;
        if (file) hits[i] = hits[i]! + 1;
      }
    };
    const folders = new Set<string>();
    for (const f of terms.files) {
      const p = normalPath(f);
      bump(`f:${p}`, WEIGHTS.file, true);
      folders.add(folderOf(p));
    }
    // A folder most entries share (`src`, in a repo that has little else) tells nothing apart and
    // costs a pass over most of the history: folders in over a quarter of the entries are skipped.
    for (const d of folders) if ((this.postings.get(`d:${d}`)?.length ?? 0) <= n / 4) bump(`d:${d}`, WEIGHTS.folder, false);
    for (const w of terms.words) {
      const df = this.postings.get(`w:${w}`)?.length ?? 0;
      if (df > 0) bump(`w:${w}`, Math.log(1 + n / df), false);
    }
    // The best `limit` by a bounded insertion (limit is small: tens), not a sort of every one touched.
    const last = this.lastSeq;
    const best: Array<{ i: number; score: number }> = [];
    for (const i of touched) {
      const score = scores[i]! + (WEIGHTS.recency * this.entries[i]!.seq) / last;
      if (best.length === limit && score <= best[best.length - 1]!.score) continue;
      let at = best.length;
      while (at > 0 && best[at - 1]!.score < score) at--;
      best.splice(at, 0, { i, score });
      if (best.length > limit) best.pop();
    }
    const out = best.map(({ i, score }) => ({ entry: this.entries[i]!, score: round(score), fileHits: hits[i]! }));
    for (const i of touched) {
      scores[i] = 0;
      hits[i] = 0;
    }
    return out;
  }
}

function termsOfEntry(e: HistoryEntry): Set<string> {
  const terms = new Set<string>();
  for (const f of e.files) {
    const p = normalPath(f);
    terms.add(`f:${p}`);
    terms.add(`d:${folderOf(p)}`);
  }
  const text = [e.title, ...e.decisions, ...e.answers.map((a) => `${a.question} ${a.answer ?? ''}`), e.summary ?? ''].join(' ');
  for (const w of wordsOf(text)) terms.add(`w:${w}`);
  return terms;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
