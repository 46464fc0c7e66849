/**
 * A plan as an agent returns it (docs/workflow.md, "Plans"): a structured `plan` of `steps`,
 * `files` and `risks` in its result (or the result itself), else its text kept whole, with any
 * list items under headings named Steps, Files and Risks picked out. Pure.
 */
import type { Plan } from '../../shared/workflow.js';

type Parsed = Omit<Plan, 'approved_at' | 'approved_by'>;

export function parsePlan(result: unknown): Parsed {
  const r = (typeof result === 'object' && result !== null ? result : {}) as Record<string, unknown>;
  const structured = (typeof r.plan === 'object' && r.plan !== null ? r.plan : r) as Record<string, unknown>;
  if (Array.isArray(structured.steps)) {
    return { steps: strings(structured.steps), files: strings(structured.files), risks: strings(structured.risks) };
  }
  const text = typeof result === 'string' ? result : (['plan', 'output', 'output_tail', 'text', 'summary', 'final'].map((k) => r[k]).find((v) => typeof v === 'string') as string | undefined) ?? '';
  return { ...fromText(text), text: text.slice(0, 65_536) };
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 256) : [];
}

/** List items under `Steps`, `Files`, `Risks` headings (markdown `#`, or a line ending in `:`). */
function fromText(text: string): { steps: string[]; files: string[]; risks: string[] } {
  const out = { steps: [] as string[], files: [] as string[], risks: [] as string[] };
  let section: keyof typeof out | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const heading = /^(?:#+\s*)?(steps|files|risks)\s*:?\s*$/i.exec(line);
    if (heading) {
      section = heading[1]!.toLowerCase() as keyof typeof out;
      continue;
    }
    const item = /^(?:[-*]|\d+[.)])\s+(.+)$/.exec(line);
    if (item && section) out[section].push(item[1]!);
  }
  return out;
}
