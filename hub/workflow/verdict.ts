/**
 * A guardian's verdict, read from its result (docs/workflow.md, "Guardian chains"): a structured
 * `{ verdict: 'PASS' | 'REJECT', summary?, findings? }` anywhere an executor puts its answer (the
 * result itself, or its `verdict`, `output`, `text`, `summary` fields), or the last line of the
 * form `VERDICT: PASS` / `VERDICT: REJECT` in its output text, with the lines after a REJECT as
 * its summary. Pure.
 */
import { Finding, WORKFLOW_LIMITS, type Verdict } from '../../shared/workflow.js';
import { compile } from '../../shared/validate.js';

const isFinding = compile(Finding);

export function parseVerdict(result: unknown): Verdict | null {
  if (typeof result === 'string') return fromText(result);
  if (typeof result !== 'object' || result === null) return null;
  const r = result as Record<string, unknown>;
  if (r.verdict === 'PASS' || r.verdict === 'REJECT') {
    const v: Verdict = { verdict: r.verdict };
    if (typeof r.summary === 'string') v.summary = r.summary.slice(0, WORKFLOW_LIMITS.textChars);
    const findings = Array.isArray(r.findings) ? r.findings.filter((f): f is Finding => isFinding(f)) : [];
    if (findings.length > 0) v.findings = findings.slice(0, WORKFLOW_LIMITS.findings);
    return v;
  }
  if (typeof r.verdict === 'object' && r.verdict !== null) return parseVerdict(r.verdict);
  for (const key of ['output', 'output_tail', 'text', 'summary', 'stdout', 'final']) {
    const value = r[key];
    if (typeof value === 'string') {
      const v = fromText(value);
      if (v) return v;
    }
  }
  return null;
}

const LINE = /^\s*VERDICT:\s*(PASS|REJECT)\b[:\s-]*(.*)$/gim;

function fromText(text: string): Verdict | null {
  let last: RegExpExecArray | null = null;
  for (let m = LINE.exec(text); m; m = LINE.exec(text)) last = m;
  LINE.lastIndex = 0;
  if (!last) return null;
  const verdict = last[1]!.toUpperCase() as Verdict['verdict'];
  const after = `${last[2] ?? ''}\n${text.slice(last.index + last[0].length)}`.trim();
  const v: Verdict = { verdict };
  if (after) v.summary = after.slice(0, WORKFLOW_LIMITS.textChars);
  return v;
}
