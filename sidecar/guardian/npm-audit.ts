/**
 * The security guardian's dependency audit: `npm audit --json` (or the repo's `audit_command`,
 * which must print the same report) read as npm writes it — report version 2 (npm 7 and later:
 * `vulnerabilities` by package) or version 1 (npm 6: `advisories` by id). A high or critical
 * advisory is a finding that rejects; lower ones are listed for the guardian to weigh. npm exits
 * non-zero when it finds something, so the exit status is not the verdict: the report is. Pure.
 */
import type { Finding } from '../../shared/workflow.js';

export type AuditReading =
  | { ok: true; counts: Record<string, number>; findings: Finding[] }
  | { ok: false; reason: string };

const SEVERITY: Record<string, NonNullable<Finding['severity']>> = { info: 'info', low: 'low', moderate: 'medium', medium: 'medium', high: 'high', critical: 'critical' };

export function readAudit(stdout: string): AuditReading {
  let report: Record<string, unknown>;
  try {
    report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as Record<string, unknown>;
  } catch {
    return { ok: false, reason: `the audit did not print a JSON report: ${stdout.trim().slice(0, 200) || 'no output'}` };
  }
  const error = report.error as { code?: string; summary?: string } | undefined;
  if (error) return { ok: false, reason: `the audit could not run: ${[error.code, error.summary].filter(Boolean).join(': ')}` };
  const counts = ((report.metadata as { vulnerabilities?: Record<string, number> } | undefined)?.vulnerabilities ?? {}) as Record<string, number>;
  const findings: Finding[] = [];
  if (report.vulnerabilities && typeof report.vulnerabilities === 'object') {
    for (const [name, v] of Object.entries(report.vulnerabilities as Record<string, Record<string, unknown>>)) {
      const severity = SEVERITY[String(v.severity)] ?? 'medium';
      const titles = (Array.isArray(v.via) ? v.via : []).flatMap((via) => (typeof via === 'object' && via && 'title' in via ? [String((via as { title: unknown }).title)] : []));
      const fix = v.fixAvailable === false ? 'no fix available yet' : 'a fix is available (npm audit fix)';
      findings.push({ message: `${name} ${String(v.range ?? '')}: ${titles.join('; ') || `depends on a vulnerable package (${(v.via as unknown[] | undefined)?.filter((x) => typeof x === 'string').join(', ') ?? '?'})`}; ${fix}`.replace(/\s+:/, ':'), file: 'package-lock.json', severity });
    }
  } else if (report.advisories && typeof report.advisories === 'object') {
    for (const a of Object.values(report.advisories as Record<string, Record<string, unknown>>)) {
      findings.push({ message: `${String(a.module_name)}: ${String(a.title)}${a.url ? ` (${String(a.url)})` : ''}`, file: 'package-lock.json', severity: SEVERITY[String(a.severity)] ?? 'medium' });
    }
  } else if (!report.metadata) {
    return { ok: false, reason: 'the audit printed JSON that is not an npm audit report' };
  }
  return { ok: true, counts, findings };
}
