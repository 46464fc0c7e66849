/**
 * A pm2 of the tests' own: its PM2_HOME in a temp folder (never the user's ~/.pm2), observed
 * through pm2's own CLI (`pm2 jlist`) rather than through our wrapper, and its daemon killed at
 * the end (`pm2 kill`, which also stops every app it runs).
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const PM2_CLI = createRequire(import.meta.url).resolve('pm2/bin/pm2');

export interface Pm2App {
  name: string;
  pid: number;
  pm_id: number;
  pm2_env: { status: string; restart_time: number; env?: Record<string, unknown>; [k: string]: unknown };
}

export class TestPm2 {
  constructor(readonly home: string) {}

  /** Runs the pm2 CLI with this PM2_HOME. */
  cli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((done) => {
      execFile(process.execPath, [PM2_CLI, ...args], { env: { ...process.env, ...env, PM2_HOME: this.home }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024, cwd }, (err, stdout, stderr) => {
        done({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0, stdout, stderr });
      });
    });
  }

  /** `pm2 jlist`: every app with its environment, as pm2 itself reports it (raw text and parsed). */
  async jlist(): Promise<{ raw: string; apps: Pm2App[] }> {
    const r = await this.cli(['jlist']);
    // When this call had to start the daemon, pm2 prints its banner first; the list is the last line.
    const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('[')) ?? '[]';
    return { raw: r.stdout, apps: JSON.parse(line) as Pm2App[] };
  }

  get dumpFile(): string {
    return join(this.home, 'dump.pm2');
  }

  async kill(): Promise<void> {
    await this.cli(['kill']);
  }
}
