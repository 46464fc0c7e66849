/**
 * docs/errors.md documents every error code: each code of shared/errors.ts (ERROR_CODES) has a row
 * with its HTTP status and retryability as the table says, and each executor failure code
 * (EXEC_FAILURES) a row with its retryability. A code added to either table without a
 * documented row fails here.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../shared/errors.js';
import { EXEC_FAILURES, type ExecFailureCode } from '../sidecar/executors/failures.js';

const DOC = readFileSync(resolve(import.meta.dirname, '../docs/errors.md'), 'utf8');

/** Table rows of the doc whose first cell is a code in backticks: code -> the row's cells. */
function rows(section: string): Map<string, string[]> {
  const start = DOC.indexOf(`## ${section}`);
  if (start < 0) throw new Error(`docs/errors.md has no section '## ${section}'`);
  const end = DOC.indexOf('\n## ', start + 1);
  const text = DOC.slice(start, end < 0 ? undefined : end);
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^\|\s*`([A-Z_]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (m) out.set(m[1]!, m[2]!.split('|').map((c) => c.trim()));
  }
  return out;
}

const yesNo = (b: boolean) => (b ? 'yes' : 'no');

describe('docs/errors.md', () => {
  const hub = rows('Hub, protocol and sidecar errors');
  const exec = rows('Executor failure codes');

  it.each(Object.keys(ERROR_CODES) as ErrorCode[])('documents %s with its status and retryability', (code) => {
    const row = hub.get(code);
    expect(row, `docs/errors.md has no row for ${code}`).toBeDefined();
    const [status, retryable, when, todo] = row!;
    expect(Number(status)).toBe(ERROR_CODES[code].status);
    expect(retryable).toBe(yesNo(ERROR_CODES[code].retryable));
    expect(when!.length, `${code}: say when it happens`).toBeGreaterThan(20);
    expect(todo!.length, `${code}: say what to do`).toBeGreaterThan(5);
  });

  it.each(Object.keys(EXEC_FAILURES) as ExecFailureCode[])('documents executor failure %s with its retryability', (code) => {
    const row = exec.get(code);
    expect(row, `docs/errors.md has no row for ${code}`).toBeDefined();
    const [retryable, when, todo] = row!;
    expect(retryable).toBe(yesNo(EXEC_FAILURES[code].retryable));
    expect(when!.length).toBeGreaterThan(20);
    expect(todo!.length).toBeGreaterThan(5);
  });

  it('documents no code that the tables do not have', () => {
    expect([...hub.keys()].filter((c) => !(c in ERROR_CODES))).toEqual([]);
    expect([...exec.keys()].filter((c) => !(c in EXEC_FAILURES))).toEqual([]);
    expect(hub.size).toBe(Object.keys(ERROR_CODES).length);
  });
});
