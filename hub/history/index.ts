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

  get lastSeq(): number {
    return this.entries.length ? this.entries[this.entries.length - 1]!.seq : 0;
  }

  add(entry: HistoryEntry): void {
    const at = this.entries.length;
    this.entries.push(entry);
    for (const term of termsOfEntry(entry)) {
      const list = this.postings.get(term);
      if (list) list.push(at);
      else this.postings.set(term, [at]);
    }
  }

  /**
   * Entries sharing a term with the task, best first: Σ over shared terms of its weight (a file
   * 3, a folder 1, a word ln(1 + N/df): rarer words count more) + recency (0.5 × seq / last seq).
   */
  score(terms: TaskTerms, limit: number): ScoredEntry[] {
    const n = this.entries.length;
    if (n === 0) return [];
    const scores = new Map<number, { score: number; fileHits: number }>();
    const bump = (term: string, weight: number, file: boolean) => {
      const list = this.postings.get(term);
      if (!list) return;
      for (const i of list) {
        const s = scores.get(i);
        if (s) {
          s.score += weight;
          if (file) s.fileHits++;
        } else scores.set(i, { score: weight, fileHits: file ? 1 : 0 });
      }
    };
    const folders = new Set<string>();
    for (const f of terms.files) {
      const p = normalPath(f);
      bump(`f:${p}`, WEIGHTS.file, true);
      folders.add(folderOf(p));
    }
    for (const d of folders) bump(`d:${d}`, WEIGHTS.folder, false);
    for (const w of terms.words) {
      const df = this.postings.get(`w:${w}`)?.length ?? 0;
      if (df > 0) bump(`w:${w}`, Math.log(1 + n / df), false);
    }
    const last = this.lastSeq;
    const out: ScoredEntry[] = [];
    for (const [i, s] of scores) {
      const entry = this.entries[i]!;
      out.push({ entry, score: round(s.score + (WEIGHTS.recency * entry.seq) / last), fileHits: s.fileHits });
    }
    out.sort((a, b) => b.score - a.score || b.entry.seq - a.entry.seq);
    return out.length > limit ? out.slice(0, limit) : out;
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
