/**
 * Real hub and sidecar processes for end-to-end tests: the compiled CLI (dist/), started as child
 * processes on 127.0.0.1, with their JSON logs captured so a test can wait for a log line and
 * show the logs when it fails.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'switchyard.js');

/** Builds dist/ if it is missing (npm test builds first; this covers a lone `npx vitest`). */
export function ensureBuilt(): void {
  if (!existsSync(CLI)) execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', ROOT], { stdio: 'inherit' });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `switchyard-${prefix}-`));
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class Proc {
  readonly lines: string[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly name: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (buf: Buffer) => {
      for (const line of buf.toString().split('\n')) if (line.trim()) this.lines.push(line);
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise((r) => this.child.once('exit', (code, signal) => r({ code, signal })));
  }

  /** Waits for a log line whose msg contains `text`. */
  waitForLog(text: string, timeoutMs = 20_000, from = 0): Promise<string> {
    return waitFor(`${this.name} to log '${text}'`, () => this.lines.slice(from).find((l) => l.includes(text)), timeoutMs);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  async stop(): Promise<void> {
    this.kill('SIGKILL');
    await this.exited;
  }

  dump(): string {
    return `--- ${this.name} ---\n${this.lines.slice(-60).join('\n')}`;
  }
}

export const ADMIN = 'test-admin-token-0123456789abcdef';

export interface HubProc {
  proc: Proc;
  url: string;
}

export async function startHubProc(dataDir: string, port: number, env: NodeJS.ProcessEnv = {}): Promise<HubProc> {
  const proc = new Proc('hub', ['hub', '--data', dataDir, '--port', String(port)], {
    SWITCHYARD_ADMIN_TOKEN: ADMIN,
    SWITCHYARD_LOG_LEVEL: 'debug',
    ...env,
  });
  await proc.waitForLog('hub listening');
  return { proc, url: `http://127.0.0.1:${port}` };
}

export async function api<T = unknown>(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export async function registerAgent(url: string, id: string): Promise<string> {
  const res = await api<{ token: string }>(url, 'POST', '/v1/agents', { id });
  if (res.status !== 201) throw new Error(`registering ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token;
}

export function startSidecarProc(url: string, id: string, token: string, dataDir: string, env: NodeJS.ProcessEnv = {}): Proc {
  return new Proc(`sidecar ${id}`, ['sidecar', '--hub', url, '--agent', id, '--data', dataDir], {
    SWITCHYARD_TOKEN: token,
    SWITCHYARD_LOG_LEVEL: 'debug',
    ...env,
  });
}
