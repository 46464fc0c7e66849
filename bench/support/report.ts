/**
 * Printing bench results: the machine header, aligned tables, and targets marked PASS or MISS.
 * Results go to stdout; progress goes to stderr so that `> results.txt` keeps only the results.
 */
import type { MachineInfo } from './machine.js';

export const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/** Progress for the operator; overwritten in place on a terminal. */
export const progress = (line: string): void => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`);
  else process.stderr.write(`${line}\n`);
};

export const progressDone = (): void => {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
};

/** 12345.6 -> "12,346"; small numbers keep one decimal. */
export function fmtNum(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);
}

export function fmtBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(0)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${n} B`;
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

export function fmtRatio(r: number): string {
  return `${r.toFixed(2)}x`;
}

export function printMachine(m: MachineInfo): void {
  out(`machine: ${m.cores} cores (os.availableParallelism), ${m.cpuModel}, ${fmtBytes(m.totalMemBytes)} RAM`);
  out(`node:    ${m.node} on ${m.platform}; load average at start ${m.load1.toFixed(2)}`);
}

/** Prints rows as a table with a header; the first column left-aligned, the others right-aligned. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  out(`  ${line(header)}`);
  out(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) out(`  ${line(r)}`);
}

export interface Target {
  /** What is promised, in words. */
  name: string;
  /** Whether it held (null: not measured in this run). */
  pass: boolean | null;
  /** The figures behind the verdict. */
  detail: string;
}

export function printTargets(targets: Target[]): void {
  for (const t of targets) {
    const verdict = t.pass === null ? 'n/a ' : t.pass ? 'PASS' : 'MISS';
    out(`  ${verdict}  ${t.name}`);
    out(`        ${t.detail}`);
  }
}
