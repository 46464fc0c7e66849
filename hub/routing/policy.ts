/**
 * The routing policy: the default an operator starts from, the check of one they set (schema,
 * then what a schema cannot say), and the chain a tier expands to. Pure.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Complexity } from '../../shared/complexity.js';
import { RoutingPolicy } from '../../shared/routing.js';
import { assertValid } from '../../shared/validate.js';

/** How long a stage waits for a free agent by default before the task moves on. */
export const DEFAULT_WAIT_MS = 120_000;
export const DEFAULT_VRAM_HEADROOM = 0.9;

/**
 * Trivial and standard work on local models, smallest first, escalating to larger ones; complex
 * work on Claude, or the largest local coder when Claude cannot take it.
 */
export const DEFAULT_POLICY: Readonly<RoutingPolicy> = Object.freeze({
  enabled: true,
  vram_headroom: DEFAULT_VRAM_HEADROOM,
  tiers: {
    trivial: { candidates: ['ollama:qwen2.5-coder:7b', 'ollama'], wait_ms: DEFAULT_WAIT_MS, next: 'standard' },
    standard: { candidates: ['ollama:qwen2.5-coder:14b', 'ollama:qwen2.5-coder:32b'], wait_ms: DEFAULT_WAIT_MS, next: 'complex' },
    complex: { candidates: ['claude', 'ollama:qwen2.5-coder:32b'], wait_ms: DEFAULT_WAIT_MS, next: null },
  },
} satisfies RoutingPolicy);

/** The policy with every default filled in; throws ROUTING_POLICY_INVALID for one that cannot work. */
export function validatePolicy(value: unknown, where = 'routing policy'): RoutingPolicy {
  let policy: RoutingPolicy;
  try {
    policy = assertValid(RoutingPolicy, value, where);
  } catch (err) {
    throw new SwitchyardError('ROUTING_POLICY_INVALID', (err as Error).message);
  }
  const tiers = {} as RoutingPolicy['tiers'];
  for (const tier of Object.keys(policy.tiers) as Complexity[]) {
    const t = policy.tiers[tier];
    tiers[tier] = { candidates: [...t.candidates], wait_ms: t.wait_ms ?? DEFAULT_WAIT_MS, next: t.next ?? null };
  }
  const filled: RoutingPolicy = { enabled: policy.enabled ?? true, vram_headroom: policy.vram_headroom ?? DEFAULT_VRAM_HEADROOM, tiers };
  for (const tier of Object.keys(tiers) as Complexity[]) {
    // A cycle of `next` would never end a chain: name the tier that starts it.
    const seen = new Set<Complexity>();
    for (let t: Complexity | null = tier; t !== null; t = tiers[t].next ?? null) {
      if (seen.has(t)) throw new SwitchyardError('ROUTING_POLICY_INVALID', `${where} is invalid: /tiers/${tier}/next leads back to '${t}' (a cycle)`);
      seen.add(t);
    }
  }
  return filled;
}

/** The candidates a task of `tier` tries, in order (its tier's, then each `next` tier's; each once), with each stage's wait. */
export function chainOf(policy: RoutingPolicy, tier: Complexity): { chain: string[]; waits: number[] } {
  const chain: string[] = [];
  const waits: number[] = [];
  const seenTiers = new Set<Complexity>();
  for (let t: Complexity | null = tier; t !== null && !seenTiers.has(t); t = policy.tiers[t].next ?? null) {
    seenTiers.add(t);
    const spec = policy.tiers[t];
    for (const c of spec.candidates) {
      if (chain.includes(c)) continue;
      chain.push(c);
      waits.push(spec.wait_ms ?? DEFAULT_WAIT_MS);
    }
  }
  return { chain, waits };
}

/** Every candidate the policy names (what agents are checked against). */
export function candidatesOf(policy: RoutingPolicy): string[] {
  const all = new Set<string>();
  for (const t of Object.values(policy.tiers)) for (const c of t.candidates) all.add(c);
  return [...all];
}
