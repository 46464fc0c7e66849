/**
 * The assembler alone (pure): sections in priority order, the budget holds for any input
 * (a property over random histories, feedback and budgets), what does not fit is listed, and a
 * history entry sharing the task's file outscores one sharing only a word.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assembleContext } from '../../hub/context/assemble.js';
import { estimateTokens } from '../../hub/context/tokens.js';
import { RepoHistory } from '../../hub/history/index.js';
import type { HistoryEntry } from '../../shared/context.js';

const entry = (seq: number, title: string, files: string[], extra: Partial<HistoryEntry> = {}): HistoryEntry => ({
  seq,
  repo: 'r',
  task_id: `T${seq}`,
  title,
  outcome: 'completed',
  at: seq,
  files,
  commit: null,
  decisions: [],
  answers: [],
  error: null,
  summary: null,
  summary_by: null,
  archived: false,
  ...extra,
});

const task = { id: 'NEW', title: 'Fix rounding in the invoice totals', context: { files: ['src/invoice.ts'] } };

describe('token estimation', () => {
  it('is ceil(UTF-8 bytes / 4), so non-ASCII text counts more', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcd')).toBe(1);
    expect(estimateTokens('abcde')).toBe(2);
    expect(estimateTokens('ééé')).toBe(2); // 6 bytes
  });
});

describe('scoring', () => {
  it('ranks a shared file above a shared word, and ignores entries sharing nothing', () => {
    const r = new RepoHistory();
    r.add(entry(1, 'Invoice rounding notes', ['docs/notes.md']));
    r.add(entry(2, 'Refactor', ['src/invoice.ts']));
    r.add(entry(3, 'Dashboard colours', ['ui/colors.css']));
    const scored = r.score({ files: ['src/invoice.ts'], words: ['rounding', 'invoice', 'totals'] }, 10);
    expect(scored.map((s) => s.entry.task_id)).toEqual(['T2', 'T1']);
    expect(scored[0]!.fileHits).toBe(1);
  });
});

describe('assembleContext', () => {
  it('puts the plan, feedback and answers before history, and lists what the budget left out', () => {
    const r = new RepoHistory();
    for (let i = 1; i <= 20; i++) r.add(entry(i, `Invoice change ${i}`, ['src/invoice.ts'], { summary: 'x'.repeat(200) }));
    const out = assembleContext({
      task: {
        ...task,
        plan: { steps: ['round half to even'], files: ['src/invoice.ts'], risks: [], approved_at: 1, approved_by: 'admin' },
        feedback: [{ at: 1, by: 'admin', kind: 'review', text: 'totals still off by a cent', attempt: 1 }],
        clarifications: [{ question: 'Which currency?', asked_at: 1, asked_by: 'a', generation: 1, answer: 'EUR only', answered_at: 2, answered_by: 'admin' }],
      },
      relevant: r.score({ files: ['src/invoice.ts'], words: ['invoice'] }, 50),
      budget: 200,
      now: 5,
    });
    expect(out.included.slice(0, 3).map((i) => i.section)).toEqual(['plan', 'feedback', 'answers']);
    expect(out.text.indexOf('round half to even')).toBeLessThan(out.text.indexOf('totals still off'));
    expect(out.text).toContain('A: EUR only');
    // The extras are what the record does not hold: history only here.
    expect(out.extras).toContain('## Earlier work in this repo');
    expect(out.extras).not.toContain('totals still off');
    expect(out.text.endsWith(out.extras!)).toBe(true);
    expect(out.tokens).toBeLessThanOrEqual(200);
    expect(out.left_out.length).toBeGreaterThan(0);
    expect(out.left_out.every((l) => l.section === 'history')).toBe(true);
  });

  it('never exceeds its budget, whatever it is given', () => {
    const text = fc.string({ maxLength: 400, unit: 'grapheme' });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(text, fc.array(fc.constantFrom('a.ts', 'src/b.ts', 'src/c/d.ts'), { maxLength: 3 }), text), { maxLength: 30 }),
        fc.array(text, { maxLength: 5 }),
        fc.integer({ min: 0, max: 3000 }),
        (entries, feedback, budget) => {
          const r = new RepoHistory();
          entries.forEach(([title, files, summary], i) => r.add(entry(i + 1, title || 't', files, { summary: summary || null, outcome: i % 4 === 3 ? 'dead_letter' : 'completed', error: 'E: boom' })));
          const out = assembleContext({
            task: { id: 'N', title: 'x', context: { files: ['src/b.ts'] }, feedback: feedback.map((f) => ({ at: 1, by: 'admin', kind: 'review' as const, text: f || 'f', attempt: 1 })) },
            relevant: r.score({ files: ['src/b.ts', 'a.ts'], words: ['a', 'src'] }, 50),
            budget,
            excerpt: (p) => `contents of ${p}\n`.repeat(20),
            now: 0,
          });
          expect(out.tokens).toBeLessThanOrEqual(budget);
          expect(out.tokens).toBe(estimateTokens(out.text));
        },
      ),
      { numRuns: 200 },
    );
  });
});
