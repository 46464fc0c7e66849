/**
 * A task's result as `switchyard task show` prints it: the fields a person looks for (branch and
 * link, verification, usage, exit code, iterations) each on its own line, the output's last lines,
 * and anything else named so `--json` can be asked for. A result of another shape (a caller's own
 * `task.complete` result) is printed as JSON, cut at RAW_CHARS.
 *
 * The reference sidecar's result (sidecar/task-runner.ts outcomeOf, docs/tasks.md): executor,
 * output_tail, exit_code, iterations, verification {passed, checks, duration_ms}, usage
 * {input_tokens, output_tokens, cost_usd, wall_ms, …}, branch, submission {branch, commit,
 * changed, pushed, pr_url, url, pr_error?}, url. The CLI does not import the sidecar: it reads
 * these by name and skips what is absent.
 */

/** Characters of a result of an unknown shape shown. */
const RAW_CHARS = 500;
/** Lines of output shown (of the run, and of each failed check). */
const OUTPUT_LINES = 20;
const CHECK_LINES = 8;

const KNOWN = new Set(['executor', 'output_tail', 'exit_code', 'iterations', 'verification', 'usage', 'branch', 'submission', 'url']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function tailLines(text: string, n: number): string[] {
  return text.trimEnd().split('\n').slice(-n);
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** `1,234 in / 567 out tokens (cache 10 written, 200 read), $0.0123, 45.2 s` */
export function formatUsage(usage: Obj): string {
  const parts: string[] = [];
  const inTok = num(usage.input_tokens);
  const outTok = num(usage.output_tokens);
  if (inTok !== null || outTok !== null) {
    let tokens = `${(inTok ?? 0).toLocaleString('en-US')} in / ${(outTok ?? 0).toLocaleString('en-US')} out tokens`;
    const written = num(usage.cache_creation_input_tokens);
    const read = num(usage.cache_read_input_tokens);
    if (written || read) tokens += ` (cache ${(written ?? 0).toLocaleString('en-US')} written, ${(read ?? 0).toLocaleString('en-US')} read)`;
    parts.push(tokens);
  }
  const cost = num(usage.cost_usd);
  if (cost !== null) parts.push(`$${cost.toFixed(4)}`);
  const wall = num(usage.wall_ms);
  if (wall !== null) parts.push(seconds(wall));
  return parts.join(', ');
}

/** The verification report: a summary line, then one line per check; a failed check shows its output's end. */
export function formatVerification(report: Obj): string[] {
  const checks = Array.isArray(report.checks) ? report.checks.filter(isObj) : [];
  const duration = num(report.duration_ms);
  const lines = [`verification ${report.passed === true ? 'passed' : 'FAILED'} (${checks.length} check${checks.length === 1 ? '' : 's'}${duration !== null ? `, ${seconds(duration)}` : ''})`];
  for (const c of checks) {
    const exit = c.exit_code === undefined ? '' : c.exit_code === null ? ' (killed or not started)' : ` (exit ${String(c.exit_code)})`;
    lines.push(`  ${c.passed === true ? 'ok  ' : 'FAIL'} ${String(c.type)}${str(c.target) ? ` ${String(c.target)}` : ''}${exit}`);
    const out = str(c.output_tail);
    if (c.passed !== true && out) lines.push(...tailLines(out, CHECK_LINES).map((l) => `         ${l}`));
  }
  return lines;
}

/** The lines `task show` prints for a result (`label` heads them: "result", "last attempt's result"). */
export function resultLines(result: unknown, label = 'result'): string[] {
  if (result === null || result === undefined) return [];
  if (!isObj(result) || !Object.keys(result).some((k) => KNOWN.has(k))) {
    const json = JSON.stringify(result);
    return [`${label} ${json.length > RAW_CHARS ? `${json.slice(0, RAW_CHARS)}… (--json shows all of it)` : json}`];
  }
  const lines = [`${label}:`];
  const field = (name: string, value: string) => lines.push(`  ${name.padEnd(12)} ${value}`);
  const head = [
    str(result.executor) ? `executor ${String(result.executor)}` : null,
    result.exit_code !== undefined ? `exit code ${result.exit_code === null ? '-' : String(result.exit_code)}` : null,
    Array.isArray(result.iterations) ? `iterations ${result.iterations.length}` : null,
  ].filter(Boolean);
  if (head.length) field('run', head.join('   '));
  const sub = isObj(result.submission) ? result.submission : null;
  const branch = str(result.branch) ?? str(sub?.branch);
  if (branch) {
    const extra = sub
      ? [
          str(sub.commit) ? `commit ${String(sub.commit).slice(0, 12)}` : null,
          sub.changed === false ? 'no changes' : null,
          sub.pushed === true ? 'pushed' : sub.pushed === false ? 'not pushed' : null,
        ].filter(Boolean)
      : [];
    field('branch', [branch, ...extra].join('   '));
  }
  const url = str(result.url) ?? str(sub?.pr_url) ?? str(sub?.url);
  if (url) field(str(sub?.pr_url) ? 'pull request' : 'link', url);
  if (str(sub?.pr_error)) field('no PR', String(sub!.pr_error));
  if (isObj(result.usage)) {
    const usage = formatUsage(result.usage);
    if (usage) field('usage', usage);
  }
  if (isObj(result.verification)) lines.push(...formatVerification(result.verification).map((l) => `  ${l}`));
  const output = str(result.output_tail);
  if (output) lines.push('  output (last lines):', ...tailLines(output, OUTPUT_LINES).map((l) => `    ${l}`));
  const other = Object.keys(result).filter((k) => !KNOWN.has(k));
  if (other.length) field('also', `${other.join(', ')} (--json shows them)`);
  return lines;
}
