/**
 * The context assembler (docs/context.md): what a task's prompt gets beside the task itself, under
 * a token budget. Sections in priority order: the approved plan, review feedback, answers to its
 * questions, the most relevant history entries of its repo, recent failures that touched its
 * files, excerpts of the files it names. Each block goes in whole if it fits what is left of the
 * budget and is listed in `left_out` otherwise; a smaller one after it may still fit. The budget
 * always holds: each block is counted with the separator it adds, and the estimate is subadditive.
 * Pure: the history, the file excerpts and the clock come in.
 */
import type { AssembledContext, ContextSection } from '../../shared/context.js';
import type { Task } from '../../shared/task.js';
import type { ScoredEntry } from '../history/index.js';
import { estimateTokens } from './tokens.js';

export interface AssembleInput {
  task: Pick<Task, 'id' | 'title' | 'context'> & Partial<Pick<Task, 'plan' | 'feedback' | 'clarifications'>>;
  /** The history entries most relevant to the task, best first (HistoryService.relevant). */
  relevant: readonly ScoredEntry[];
  /** Tokens the context may take. */
  budget: number;
  /** The start of a file of the task's repo, or null (no checkout on this hub, or no such file). */
  excerpt?: (path: string) => string | null;
  now: number;
}

/** How many of each kind are considered (beyond them, nothing is listed as left out either). */
const MAX_HISTORY = 12;
const MAX_FAILURES = 5;
const MAX_FILES = 8;
const SEPARATOR = '\n\n';
/** Sections the task record holds itself (a prompt built from the record quotes them already). */
const OWN: ReadonlySet<ContextSection> = new Set(['plan', 'feedback', 'answers']);

interface Block {
  section: ContextSection;
  ref: string;
  text: string;
  score?: number;
}

const HEADINGS: Record<ContextSection, string> = {
  plan: '## The approved plan',
  feedback: '## Review feedback to address',
  answers: 'Answers to your questions',
  history: '## Earlier work in this repo',
  failures: '## Recent failures on the same files',
  files: '## Excerpts of the files named',
};

export function assembleContext(input: AssembleInput): AssembledContext {
  const budget = Math.max(0, Math.floor(input.budget));
  const blocks = candidates(input);
  const included: AssembledContext['included'] = [];
  const leftOut: AssembledContext['left_out'] = [];
  const parts: string[] = [];
  const extras: string[] = [];
  const opened = new Set<ContextSection>();
  let used = 0;
  for (const b of blocks) {
    // A section's heading travels with its first block.
    const heading = opened.has(b.section) ? '' : `${b.section === 'answers' ? '## ' : ''}${HEADINGS[b.section]}\n`;
    const piece = `${heading}${b.text}`;
    const cost = estimateTokens(piece + SEPARATOR);
    const entry = { section: b.section, ref: b.ref, tokens: cost, ...(b.score !== undefined ? { score: b.score } : {}) };
    if (used + cost <= budget) {
      used += cost;
      parts.push(piece);
      if (!OWN.has(b.section)) extras.push(piece);
      opened.add(b.section);
      included.push(entry);
    } else leftOut.push(entry);
  }
  const text = parts.join(SEPARATOR);
  return { text, extras: extras.join(SEPARATOR), tokens: estimateTokens(text), budget, included, left_out: leftOut, assembled_at: input.now };
}

function candidates(input: AssembleInput): Block[] {
  const { task } = input;
  const out: Block[] = [];
  const plan = task.plan;
  if (plan && plan.approved_at !== null) {
    const body = plan.steps.length ? plan.steps.map((s, i) => `${i + 1}. ${s}`).join('\n') : (plan.text ?? '');
    const files = plan.files.length ? `\nFiles: ${plan.files.join(', ')}` : '';
    const risks = plan.risks.length ? `\nRisks: ${plan.risks.join('; ')}` : '';
    out.push({ section: 'plan', ref: `plan:${task.id}`, text: `${body}${files}${risks}` });
  }
  // Newest feedback first: it is what the next attempt must answer.
  const feedback = task.feedback ?? [];
  for (let i = feedback.length - 1; i >= 0; i--) {
    const f = feedback[i]!;
    const findings = (f.findings ?? []).map((x) => `\n- ${x.file ? `${x.file}${x.line !== undefined ? `:${x.line}` : ''}: ` : ''}${x.message}`).join('');
    out.push({ section: 'feedback', ref: `feedback:${i}`, text: `From ${f.by} (${f.kind}, attempt ${f.attempt}): ${f.text}${findings}` });
  }
  for (const [i, c] of (task.clarifications ?? []).entries()) {
    if (c.answer === null) continue;
    out.push({ section: 'answers', ref: `answer:${i}`, text: `Q: ${c.question}\nA: ${c.answer}` });
  }
  let history = 0;
  let failures = 0;
  for (const s of input.relevant) {
    const e = s.entry;
    if (e.outcome === 'completed' && history < MAX_HISTORY) {
      history++;
      out.push({ section: 'history', ref: e.task_id, score: s.score, text: historyLine(s) });
    } else if (e.outcome === 'dead_letter' && s.fileHits > 0 && failures < MAX_FAILURES) {
      failures++;
      out.push({ section: 'failures', ref: e.task_id, score: s.score, text: `- ${e.title} (${e.outcome}): ${e.error ?? 'no error recorded'}; files ${e.files.slice(0, 6).join(', ')}` });
    }
  }
  if (input.excerpt) {
    for (const path of (task.context.files ?? []).slice(0, MAX_FILES)) {
      const text = input.excerpt(path);
      if (text) out.push({ section: 'files', ref: path, text: `### ${path}\n\`\`\`\`\n${text.replace(/\n$/, '')}\n\`\`\`\`` });
    }
  }
  return out;
}

function historyLine(s: ScoredEntry): string {
  const e = s.entry;
  const bits = [`- ${e.title} (${e.task_id}${e.commit ? `, ${e.commit.slice(0, 12)}` : ''})`];
  if (e.files.length) bits.push(`  files: ${e.files.slice(0, 8).join(', ')}${e.files.length > 8 ? ` (+${e.files.length - 8})` : ''}`);
  if (e.summary) bits.push(`  ${e.summary_by === 'model' ? 'summary (by a model)' : 'summary'}: ${e.summary}`);
  for (const d of e.decisions.slice(-2)) bits.push(`  decided: ${d}`);
  for (const a of e.answers.slice(-2)) if (a.answer !== null) bits.push(`  answered: ${a.question} -> ${a.answer}`);
  return bits.join('\n');
}
