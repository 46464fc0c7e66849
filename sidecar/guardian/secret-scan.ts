/**
 * The security guardian's secret scan over the lines a change adds: well-known token shapes
 * (cloud keys, VCS and chat tokens, model API keys, private keys, Switchyard's own tokens) and
 * credentials assigned as string literals, plus committed `.env` files. A finding never repeats
 * the secret: it shows its first characters only, so the report is safe to store and show. Pure.
 */
import type { Finding } from '../../shared/workflow.js';
import type { Change } from './diff.js';

interface Rule {
  name: string;
  pattern: RegExp;
  severity: 'critical' | 'high';
}

const RULES: Rule[] = [
  { name: 'private key', pattern: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----/, severity: 'critical' },
  { name: 'AWS access key id', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/, severity: 'critical' },
  { name: 'GitHub token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/, severity: 'critical' },
  { name: 'Slack token', pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/, severity: 'critical' },
  { name: 'Slack webhook', pattern: /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/]{20,}/, severity: 'critical' },
  { name: 'Anthropic API key', pattern: /\bsk-ant-[A-Za-z0-9_-]{20,}/, severity: 'critical' },
  { name: 'OpenAI API key', pattern: /\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}/, severity: 'critical' },
  { name: 'Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/, severity: 'critical' },
  { name: 'Stripe secret key', pattern: /\b[sr]k_live_[0-9A-Za-z]{20,}\b/, severity: 'critical' },
  { name: 'Switchyard token', pattern: /\bsy[a-z]_[A-Za-z0-9_-]{40,}/, severity: 'critical' },
  {
    name: 'credential in a string literal',
    pattern: /\b(?:password|passwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret)\b["']?\s*[:=]\s*["'][^"'\s]{8,}["']/i,
    severity: 'high',
  },
];

/** A committed dotenv file is a leak whatever its lines look like (`.env.example` is a template). */
const ENV_FILE = /(?:^|\/)\.env(?:\.(?!example$|sample$|template$)[\w.-]+)?$/;

export function scanSecrets(change: Change): Finding[] {
  const findings: Finding[] = [];
  for (const file of change.files) {
    if (ENV_FILE.test(file)) findings.push({ message: `a dotenv file is committed: remove it and add it to .gitignore`, file, severity: 'critical' });
  }
  for (const added of change.added) {
    for (const rule of RULES) {
      const m = rule.pattern.exec(added.text);
      if (!m) continue;
      findings.push({ message: `${rule.name} added (${shown(m[0])}): remove it from the change and rotate it`, file: added.file, line: added.line, severity: rule.severity });
      break; // one finding per line is enough to act on
    }
  }
  return findings;
}

/** Enough of a match to find it again, never the secret itself. */
function shown(match: string): string {
  return match.startsWith('-----') ? match : `${match.slice(0, 6)}…`;
}
