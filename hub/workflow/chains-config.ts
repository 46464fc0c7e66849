/**
 * Guardian chains from the hub's config (`guardianChains`: `repo=role+role`, `*=…` for every
 * repo), laid onto a spec that names none of its own: per task first, then its repo, then `*`.
 * Until the repo registry (issue 12) holds a repo's review settings, this is where they live.
 */
import type { TaskSpec } from '../../shared/task.js';
import { GUARDIAN_ROLES, type GuardianRole } from '../../shared/workflow.js';

export function chainsOf(entries: readonly string[]): (spec: TaskSpec) => TaskSpec {
  const byRepo = new Map<string, GuardianRole[]>();
  for (const entry of entries) {
    const at = entry.indexOf('=');
    const roles = entry
      .slice(at + 1)
      .split('+')
      .filter((r): r is GuardianRole => (GUARDIAN_ROLES as readonly string[]).includes(r));
    byRepo.set(entry.slice(0, at), roles);
  }
  if (byRepo.size === 0) return (spec) => spec;
  return (spec) => {
    // Only a well-formed spec (anything else is the store's to refuse), and never a shell command's.
    if (typeof spec !== 'object' || spec === null || spec.chain !== undefined || spec.executor === 'shell') return spec;
    const chain = (typeof spec.repo === 'string' ? byRepo.get(spec.repo) : undefined) ?? byRepo.get('*');
    return chain && chain.length > 0 ? { ...spec, chain } : spec;
  };
}
