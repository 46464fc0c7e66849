/**
 * The compiled CLI as a child process, asynchronously (a hub in the test process keeps serving
 * meanwhile), with an environment free of the caller's SWITCHYARD_* settings.
 */
import { execFile } from 'node:child_process';
import { CLI } from './processes.js';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * `timeoutMs` (default 50 s) stays under vitest's test timeout (60 s), so that a hung command is
 * killed (SIGKILL) and reported by its test, never left running after it.
 */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; script?: string } = {}): Promise<CliRun> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith('SWITCHYARD_') || k.startsWith('PM2_')) delete base[k];
  return new Promise((done) => {
    execFile(
      process.execPath,
      [opts.script ?? CLI, ...args],
      { cwd: opts.cwd, env: { ...base, ...opts.env }, timeout: opts.timeoutMs ?? 50_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        done({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
      },
    );
  });
}

/** For assertion messages. */
export const show = (r: CliRun) => `exit ${r.code} ${r.signal ?? ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
