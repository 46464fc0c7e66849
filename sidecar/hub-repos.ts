/**
 * Repo settings from the hub's registry (docs/repos.md, "Sidecars"): at each connect the sidecar
 * reads `GET /v1/agent/repos` with its own token, so a new host needs no repo configured by hand.
 * The repos in the sidecar's own config win for the same name; the hub's fill in the rest (url,
 * default branch, test command). A hub that is older (404) or does not answer leaves the local
 * config as it is: a warning, never a failed connect.
 */
import type { Logger } from 'pino';
import { AgentRepoList, type AgentRepo } from '../shared/repos.js';
import { assertValid } from '../shared/validate.js';
import { hubRestUrl } from './config.js';
import type { RepoConfig } from './workspace/config.js';

/** How long the connect waits for the hub's answer. */
const FETCH_TIMEOUT_MS = 5000;

/** The hub's repos, or null (logged) when it could not say. */
export async function fetchHubRepos(hubUrl: string, token: string, log: Pick<Logger, 'warn'>, timeoutMs = FETCH_TIMEOUT_MS): Promise<AgentRepo[] | null> {
  const url = hubRestUrl(hubUrl, '/v1/agent/repos');
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) {
      log.warn({ status: res.status, url }, 'the hub gave no repo settings (an older hub?): using the local repo config only');
      return null;
    }
    return assertValid(AgentRepoList, await res.json(), 'the hub repo list').repos;
  } catch (err) {
    log.warn({ err, url }, 'reading repo settings from the hub failed: using the local repo config only');
    return null;
  }
}

/** The hub's repos the local config lacks, as repo config entries (local names win). */
export function hubOnlyRepos(local: readonly RepoConfig[], hub: readonly AgentRepo[]): RepoConfig[] {
  const mine = new Set(local.map((r) => r.name));
  return hub
    .filter((r) => !mine.has(r.name))
    .map((r) => ({ name: r.name, url: r.url, default_branch: r.default_branch, ...(r.test_command !== null ? { test_command: r.test_command } : {}) }));
}
