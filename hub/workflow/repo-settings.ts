/**
 * A repo's review settings from the hub's config, laid onto a spec that does not set them itself:
 *
 *  - `guardianChains`: `repo=role+role`, `*=…` for every repo — the chain after an implementation;
 *  - `reviewRepos`: repo names, `*` for every repo — work on them waits in `review` for a person.
 *
 * The task's own `chain` / `review` win, then its repo's entry, then `*`. A shell command is never
 * given a chain or review it did not ask for (there is no work of a model to check). Until the
 * repo registry (issue 12) holds a repo's settings, this is where they live.
 */
import type { TaskSpec } from '../../shared/task.js';
import { GUARDIAN_ROLES, type GuardianRole } from '../../shared/workflow.js';

export interface RepoSettingsConfig {
  guardianChains?: readonly string[];
  reviewRepos?: readonly string[];
}

export function repoSettingsOf(config: RepoSettingsConfig): (spec: TaskSpec) => TaskSpec {
  const chains = new Map<string, GuardianRole[]>();
  for (const entry of config.guardianChains ?? []) {
    const at = entry.indexOf('=');
    const roles = entry
      .slice(at + 1)
      .split('+')
      .filter((r): r is GuardianRole => (GUARDIAN_ROLES as readonly string[]).includes(r));
    chains.set(entry.slice(0, at), roles);
  }
  const review = new Set(config.reviewRepos ?? []);
  if (chains.size === 0 && review.size === 0) return (spec) => spec;
  return (spec) => {
    // Only a well-formed spec (anything else is the store's to refuse), and never a shell command's.
    if (typeof spec !== 'object' || spec === null || spec.executor === 'shell') return spec;
    const repo = typeof spec.repo === 'string' ? spec.repo : undefined;
    let out = spec;
    if (spec.chain === undefined) {
      const chain = (repo !== undefined ? chains.get(repo) : undefined) ?? chains.get('*');
      if (chain && chain.length > 0) out = { ...out, chain };
    }
    if (spec.review === undefined && ((repo !== undefined && review.has(repo)) || review.has('*'))) out = { ...out, review: true };
    return out;
  };
}
