/**
 * The hub under test, as an operator runs it: `node dist/cli/switchyard.js hub` in its own process,
 * on a fresh data folder, with the admin token and log level from the environment. Its warn and
 * error log lines are passed on to stderr so that a failing hub is visible in the bench output.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HUB_NODE_FLAGS } from '../hub/node-flags.js';
import { HubHttp } from './dispatch-http.js';
import { cpuMsOf, fdLimitOf, memoryOf, spawnNode, threadCpuMsOf, waitExit } from './dispatch-proc.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cli/switchyard.js');

/**
 * The node flags the hub is deployed with (hub/node-flags.ts, which pm2 and npm start carry), so
 * the bench measures the hub as it runs, not a bare `node`. Then BENCH_HUB_NODE_ARGS
 * (space-separated), for experiments such as `--trace-gc`.
 */
export function hubNodeArgs(): string[] {
  const extra = (process.env.BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return [...HUB_NODE_FLAGS, ...extra];
}

export interface HubOptions {
  dataDir: string;
  /** SWITCHYARD_HEARTBEAT_MS: how often the hub asks sidecars to heartbeat. */
  heartbeatMs: number;
  /** When set, the hub runs with --cpu-prof and writes its profile here on exit. */
  cpuProfDir?: string;
  /** The CLI to run the hub from: another build (BENCH_BASE) for an A/B run. @defaultValue this build's */
  cli?: string;
  /** More hub settings (the idle phase raises the per-address limits for its 10,000 sidecars on one address). */
  env?: Record<string, string>;
}

/** A free loopback port (the hub logs its address only at info level, and the bench runs it at warn). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export class HubProcess {
  /** Why the hub exited, once it has (null while it runs). */
  exitReason: string | null = null;
  private stopping = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly adminToken: string,
    exited: Promise<string>,
  ) {
    void exited.then((why) => {
      this.exitReason = why;
      if (!this.stopping) process.stderr.write(`[hub] ${why}\n`);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(opts: HubOptions): Promise<HubProcess> {
    const port = await freePort();
    const adminToken = `bench-admin-${randomBytes(16).toString('hex')}`;
    const nodeArgs = [
      ...(opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : []),
      ...hubNodeArgs(),
      opts.cli ?? CLI,
      'hub',
      '--data',
      opts.dataDir,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
    ];
    const child = spawnNode(nodeArgs, {
      env: {
        ...process.env,
        SWITCHYARD_ADMIN_TOKEN: adminToken,
        SWITCHYARD_LOG_LEVEL: 'warn',
        SWITCHYARD_HEARTBEAT_MS: String(opts.heartbeatMs),
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const forward = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) process.stderr.write(`[hub] ${line}\n`);
    };
    child.stdout!.on('data', forward);
    child.stderr!.on('data', forward);
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => resolve(`hub exited (code ${code}, signal ${signal}); last output:\n${tail}`));
    });
    const hub = new HubProcess(child, `http://127.0.0.1:${port}`, adminToken, exited);
    await hub.waitHealthy(30_000);
    return hub;
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const http = new HubHttp(this.url, this.adminToken, 1);
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        if (this.exitReason) throw new Error(this.exitReason);
        try {
          const res = await http.request('GET', '/v1/health');
          if (res.status === 200) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`hub did not answer /v1/health within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      http.close();
    }
  }

  memory(): { rss: number; peak: number } {
    return memoryOf(this.pid);
  }

  /** CPU time of all the hub's threads (the JS thread, libuv's pool, LevelDB's compaction). */
  cpuMs(): number {
    return cpuMsOf(this.pid);
  }

  /** CPU time of the hub's main thread alone: near 100% of a core means its event loop is the limit. */
  mainThreadCpuMs(): number {
    return cpuMsOf(this.pid, true);
  }

  /** CPU time of each of the hub's threads, by thread id (its pid is the main thread's). */
  threadCpuMs(): Map<number, number> {
    return threadCpuMsOf(this.pid);
  }

  fdLimit(): string {
    return fdLimitOf(this.pid);
  }

  /** SIGTERM (the hub closes its sockets and stores, and writes its CPU profile), then waits. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await waitExit(this.child, 15_000);
  }
}
