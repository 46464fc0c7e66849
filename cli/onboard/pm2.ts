/**
 * pm2 through its programmatic API (the `pm2` package), promisified: the sidecar of each agent is
 * one pm2 app. pm2 finds its daemon through $PM2_HOME (default ~/.pm2) and starts one when none
 * runs. Loaded only by the commands that need it (it takes ~0.3 s to load).
 *
 * Secrets: pm2 copies the calling process's environment into each app it starts and into its
 * saved list (`dump.pm2`); `pm2 env <id>` prints it. So the app is started with every
 * SWITCHYARD_* variable (and OLLAMA_HOST) filtered out (the sidecar reads its token from a 0600
 * file, and its settings from its config file, which no leftover variable may override), and the caller's
 * secrets are removed from its own environment before the daemon is started from it.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { SwitchyardError } from '../../shared/errors.js';
import { scrubSecrets } from '../../sidecar/child-env.js';

/** What `switchyard status` and the tests read of a pm2 app. */
export interface Pm2Process {
  name: string;
  pmId: number;
  pid: number;
  status: string;
  restarts: number;
  unstableRestarts: number;
  /** When it last started (ms since the epoch). */
  uptimeSince: number | null;
  memory: number;
  cpu: number;
  outLog: string | null;
  errLog: string | null;
}

export interface Pm2App {
  name: string;
  script: string;
  args: string[];
  cwd: string;
  interpreter: string;
  outFile: string;
  errorFile: string;
  /** Time between pm2's SIGINT and its SIGKILL: longer than the sidecar's drain. */
  killTimeoutMs: number;
  env?: Record<string, string>;
}

interface Pm2Api {
  connect(cb: (err: Error | null, meta?: { new_pm2_instance?: boolean }) => void): void;
  resurrect(cb: (err: Error | null) => void): void;
  disconnect(): void;
  describe(name: string, cb: (err: Error | null, list: Pm2Description[]) => void): void;
  list(cb: (err: Error | null, list: Pm2Description[]) => void): void;
  start(options: Record<string, unknown>, cb: (err: Error | null) => void): void;
  stop(name: string, cb: (err: Error | null) => void): void;
  delete(name: string, cb: (err: Error | null) => void): void;
  dump(force: boolean, cb: (err: Error | null) => void): void;
  killDaemon(cb: (err: Error | null) => void): void;
}

interface Pm2Description {
  name: string;
  pid: number;
  pm_id: number;
  monit?: { memory: number; cpu: number };
  pm2_env: { status: string; restart_time: number; unstable_restarts: number; pm_uptime?: number; pm_out_log_path?: string; pm_err_log_path?: string };
}

const call = <T>(what: string, fn: (cb: (err: Error | null, value?: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) =>
    fn((err, value) => {
      if (err) reject(new SwitchyardError('ONBOARD_SERVICE_FAILED', `pm2 ${what} failed: ${err.message ?? String(err)}`));
      else resolve(value as T);
    }),
  );

export class Pm2 {
  private constructor(
    private readonly api: Pm2Api,
    /** Whether connecting started the daemon (pm2 was not running). */
    readonly startedDaemon: boolean,
  ) {}

  /** Connects to the pm2 daemon of $PM2_HOME, starting one if none runs. */
  static async connect(): Promise<Pm2> {
    // The daemon inherits this process's environment when this call starts it.
    scrubSecrets(process.env);
    const api = createRequire(import.meta.url)('pm2') as Pm2Api;
    const meta = await call<{ new_pm2_instance?: boolean } | undefined>('connect', (cb) => api.connect(cb));
    return new Pm2(api, meta?.new_pm2_instance === true);
  }

  /**
   * When this connection started the daemon, brings back the apps of pm2's saved list first, as
   * pm2 does at boot: saving the list later would otherwise drop them (the hub, other agents).
   * Returns how many were saved.
   */
  async restoreSaved(): Promise<number> {
    if (!this.startedDaemon) return 0;
    const dump = join(process.env.PM2_HOME ?? join(homedir(), '.pm2'), 'dump.pm2');
    let saved = 0;
    try {
      saved = (JSON.parse(readFileSync(dump, 'utf8')) as unknown[]).length;
    } catch {
      return 0; // no saved list
    }
    if (saved > 0) await call<void>('resurrect', (cb) => this.api.resurrect(cb));
    return saved;
  }

  async describe(name: string): Promise<Pm2Process | null> {
    const list = await call<Pm2Description[]>('describe', (cb) => this.api.describe(name, cb));
    const d = list.find((p) => p.name === name);
    if (!d) return null;
    return {
      name: d.name,
      pmId: d.pm_id,
      pid: d.pid,
      status: d.pm2_env.status,
      restarts: d.pm2_env.restart_time,
      unstableRestarts: d.pm2_env.unstable_restarts,
      uptimeSince: d.pm2_env.pm_uptime ?? null,
      memory: d.monit?.memory ?? 0,
      cpu: d.monit?.cpu ?? 0,
      outLog: d.pm2_env.pm_out_log_path ?? null,
      errLog: d.pm2_env.pm_err_log_path ?? null,
    };
  }

  /** Every app of this daemon with this name prefix (one per agent). */
  async names(prefix: string): Promise<string[]> {
    const list = await call<Pm2Description[]>('list', (cb) => this.api.list(cb));
    return list.map((p) => p.name).filter((n) => n.startsWith(prefix));
  }

  async start(app: Pm2App): Promise<void> {
    await call<void>('start', (cb) =>
      this.api.start(
        {
          name: app.name,
          script: app.script,
          args: app.args,
          cwd: app.cwd,
          interpreter: app.interpreter,
          out_file: app.outFile,
          error_file: app.errorFile,
          merge_logs: true,
          autorestart: true,
          // Restart with exponential backoff (pm2 grows the delay up to 15 s and resets it after
          // 30 s of uptime); give up only after many quick failures in a row.
          exp_backoff_restart_delay: 200,
          max_restarts: 50,
          min_uptime: 5_000,
          kill_timeout: app.killTimeoutMs,
          // The signal goes to the sidecar only: with pm2's default tree kill, the commands of
          // running tasks got SIGINT too and failed instead of finishing during the drain.
          treekill: false,
          // An array, not `true`: pm2 7 ignores `filter_env: true` (it tests `.length`). Variables the
          // sidecar reads over its config file (OLLAMA_HOST too) would override what onboarding wrote.
          filter_env: ['SWITCHYARD_', 'OLLAMA_HOST'],
          env: app.env ?? {},
        },
        cb,
      ),
    );
  }

  /** Stops the app: pm2 sends SIGINT (the sidecar drains) and SIGKILL after kill_timeout. */
  async stop(name: string): Promise<void> {
    await call<void>('stop', (cb) => this.api.stop(name, cb));
  }

  async delete(name: string): Promise<void> {
    await call<void>('delete', (cb) => this.api.delete(name, cb));
  }

  /** `pm2 save`: the list pm2 resurrects at boot. Forced, so that saving an empty list empties it. */
  async save(): Promise<void> {
    await call<void>('save', (cb) => this.api.dump(true, cb));
  }

  async killDaemon(): Promise<void> {
    await call<void>('kill', (cb) => this.api.killDaemon(cb));
  }

  close(): void {
    this.api.disconnect();
  }
}

/** The boot command to print (`pm2 startup` needs root, so onboarding does not run it). */
export function startupHint(pm2Bin: string): string {
  const platform = process.platform === 'darwin' ? 'launchd' : 'systemd';
  const { username: user, homedir: home } = userInfo();
  const pm2Home = process.env.PM2_HOME ? ` PM2_HOME=${process.env.PM2_HOME}` : '';
  return `sudo env PATH=$PATH:${process.execPath.replace(/\/node$/, '')}${pm2Home} ${pm2Bin} startup ${platform} -u ${user} --hp ${home}`;
}

/** The pm2 CLI of this package (for the hints printed to operators). */
export function pm2Bin(): string {
  return createRequire(import.meta.url).resolve('pm2/bin/pm2');
}
