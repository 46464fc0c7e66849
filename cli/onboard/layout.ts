/**
 * Where an onboarded agent lives on its host: one folder (the sidecar's data folder) holds the
 * onboarding state, the sidecar's config, its token (0600), its logs, its clones and worktrees.
 * A second agent on the same host gets its own folder (`--data`).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface Layout {
  /** The sidecar's data folder. */
  home: string;
  /** The onboarding state file (steps done, intended name, exchange key). */
  state: string;
  /** The sidecar's config (written by onboarding, read by `switchyard sidecar --config`). */
  config: string;
  /** The agent's token, mode 0600. */
  token: string;
  logs: string;
  outLog: string;
  errLog: string;
  /** Where `url` repos are cloned (the sidecar's own cache folder, so it finds them). */
  repos: string;
}

/** `--data`, else $SWITCHYARD_SIDECAR_DATA, else ~/.switchyard/agent. */
export function defaultHome(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.SWITCHYARD_SIDECAR_DATA ?? join(homedir(), '.switchyard', 'agent'));
}

export function layoutOf(home: string): Layout {
  const logs = join(home, 'logs');
  return {
    home,
    state: join(home, 'onboarding.json'),
    config: join(home, 'sidecar.json'),
    token: join(home, 'agent.token'),
    logs,
    outLog: join(logs, 'sidecar.out.log'),
    errLog: join(logs, 'sidecar.err.log'),
    repos: join(home, 'repos'),
  };
}

/** The pm2 app of an agent: one app per agent. */
export const pm2AppName = (agent: string) => `switchyard-sidecar-${agent}`;
