/** Plain-text tables and times for CLI output. */
import type { Task } from '../shared/task.js';

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function time(ms: number | null | undefined): string {
  return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-';
}

export function taskRow(t: Task): string[] {
  return [t.id, t.status, t.lane, t.lease?.agent_id ?? '-', String(t.attempts), t.title.slice(0, 60)];
}

export const TASK_HEADER = ['ID', 'STATUS', 'LANE', 'AGENT', 'TRIES', 'TITLE'];

/** US dollars: cents, or four places for amounts under a cent. */
export function usd(v: number): string {
  return `$${v.toFixed(v > 0 && v < 0.01 ? 4 : 2)}`;
}

/** Tokens in and out, cost and runs of a usage total (a task's, a row's). */
export function usageText(u: { input_tokens: number; output_tokens: number; cost_usd: number; runs: number }): string {
  return `${u.input_tokens} in / ${u.output_tokens} out tokens, ${usd(u.cost_usd)}, ${u.runs} run${u.runs === 1 ? '' : 's'}`;
}
