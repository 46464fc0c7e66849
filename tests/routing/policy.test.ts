/** The routing policy's checks and chains, and the fit rules, as pure functions (docs/routing.md). */
import { describe, expect, it } from 'vitest';
import type { ExecutorAdvert, HostResources } from '../../shared/protocol.js';
import { SwitchyardError } from '../../shared/errors.js';
import { fitOf } from '../../hub/routing/fit.js';
import { chainOf, DEFAULT_POLICY, validatePolicy } from '../../hub/routing/policy.js';
import { scoreOf } from '../../hub/routing/score.js';

const GB = 1024 ** 3;
const NOW = 1_800_000_000_000;
const opts = { now: NOW, staleMs: 60_000, headroom: 0.9 };
const gpu = (totalMb: number, usedMb: number): HostResources => ({ cpu_count: 8, load_1m: 2, ram_total_mb: 1, ram_free_mb: 1, gpus: [{ index: 0, name: 'g', vram_total_mb: totalMb, vram_used_mb: usedMb }] });
const ollama = (over: Partial<ExecutorAdvert> = {}): ExecutorAdvert => ({
  name: 'ollama',
  available: true,
  models: ['big:32b', 'small:7b'],
  model_info: [
    { name: 'big:32b', size_bytes: 20 * GB, loaded: false },
    { name: 'small:7b', size_bytes: 5 * GB, loaded: true },
  ],
  ...over,
});
const agent = (executors: ExecutorAdvert[], resources: HostResources | null = gpu(24_576, 1_024), lastSeenAt: number | null = NOW) => ({ id: 'a', executors, resources, lastSeenAt });

describe('the policy', () => {
  it('fills defaults, and expands a tier into its chain with each next tier after it, each candidate once', () => {
    const p = validatePolicy({ tiers: { trivial: { candidates: ['ollama:a', 'ollama'], next: 'standard' }, standard: { candidates: ['ollama:b', 'ollama:a'], wait_ms: 5, next: 'complex' }, complex: { candidates: ['claude'] } } });
    expect(p).toMatchObject({ enabled: true, vram_headroom: 0.9, tiers: { trivial: { wait_ms: 120_000 }, complex: { next: null } } });
    expect(chainOf(p, 'trivial')).toEqual({ chain: ['ollama:a', 'ollama', 'ollama:b', 'claude'], waits: [120_000, 120_000, 5, 120_000] });
    expect(chainOf(p, 'complex').chain).toEqual(['claude']);
    expect(chainOf(validatePolicy(DEFAULT_POLICY), 'complex').chain).toEqual(['claude', 'ollama:qwen2.5-coder:32b']);
  });

  it('refuses unknown candidates, missing tiers and cycles with ROUTING_POLICY_INVALID', () => {
    const tiers = { trivial: { candidates: ['ollama'] }, standard: { candidates: ['ollama'] }, complex: { candidates: ['claude'] } };
    const bad = (v: unknown) => {
      try {
        validatePolicy(v);
      } catch (err) {
        expect(err).toBeInstanceOf(SwitchyardError);
        return (err as SwitchyardError).code + ': ' + (err as Error).message;
      }
      return 'accepted';
    };
    expect(bad({ tiers: { ...tiers, trivial: { candidates: ['gpt-4'] } } })).toMatch(/^ROUTING_POLICY_INVALID: .*\/tiers\/trivial\/candidates\/0/);
    expect(bad({ tiers: { trivial: tiers.trivial } })).toMatch(/^ROUTING_POLICY_INVALID/);
    expect(bad({ tiers: { ...tiers, trivial: { candidates: [] } } })).toMatch(/^ROUTING_POLICY_INVALID/);
    expect(bad({ tiers: { ...tiers, standard: { candidates: ['ollama'], next: 'complex' }, complex: { candidates: ['claude'], next: 'standard' } } })).toMatch(/cycle/);
    expect(bad({ tiers, vram_headroom: 2 })).toMatch(/^ROUTING_POLICY_INVALID/);
    expect(bad({ tiers })).toBe('accepted');
  });
});

describe('fit', () => {
  it('warm beats the VRAM check; a cold model fits only in free VRAM × headroom', () => {
    expect(fitOf(agent([ollama()]), 'ollama:small:7b', opts)).toMatchObject({ ok: true, warm: true, model: 'small:7b' });
    expect(fitOf(agent([ollama()]), 'ollama:big:32b', opts)).toMatchObject({ ok: true, warm: false });
    // 22 GB free × 0.9 = 19.8 GB < 20 GB.
    expect(fitOf(agent([ollama()], gpu(24_576, 2_048)), 'ollama:big:32b', opts)).toMatchObject({ ok: false, why: expect.stringMatching(/cold and 20\.0 GB, more than 19\.8 GB/) });
    expect(fitOf(agent([ollama()], gpu(8_192, 0), NOW), 'ollama:big:32b', opts)).toMatchObject({ ok: false });
    expect(fitOf(agent([ollama()], null), 'ollama:big:32b', opts)).toMatchObject({ ok: false, why: expect.stringMatching(/no GPU VRAM/) });
    // Any model: the warm one.
    expect(fitOf(agent([ollama()]), 'ollama', opts)).toMatchObject({ ok: true, model: 'small:7b', warm: true });
  });

  it('refuses missing and faulty models, stale reports, and a usage-limited Claude until its reset', () => {
    expect(fitOf(agent([ollama()]), 'ollama:none:1b', opts)).toMatchObject({ ok: false, why: 'no model none:1b' });
    expect(fitOf(agent([ollama({ model_faults: [{ name: 'small:7b', reason: 'generation failed', since: 1 }] })]), 'ollama:small:7b', opts)).toMatchObject({ ok: false, why: expect.stringMatching(/at fault: generation failed/) });
    expect(fitOf(agent([ollama()], gpu(24_576, 0), NOW - 61_000), 'ollama:small:7b', opts)).toMatchObject({ ok: false, why: expect.stringMatching(/61 s ago.*too old/) });
    const limited: ExecutorAdvert = { name: 'claude', available: false, models: [], reason: 'usage limit', until: NOW + 1000 };
    expect(fitOf(agent([limited]), 'claude', opts)).toMatchObject({ ok: false, why: expect.stringMatching(/claude unavailable until/) });
    expect(fitOf(agent([limited]), 'claude', { ...opts, now: NOW + 1000 })).toMatchObject({ ok: true, paid: true });
    expect(fitOf(agent([{ name: 'claude', available: true, models: ['opus'] }]), 'claude:sonnet', opts)).toMatchObject({ ok: false });
    expect(fitOf(agent([ollama()]), 'claude', opts)).toMatchObject({ ok: false, why: 'no claude executor' });
  });
});

describe('the score', () => {
  it('adds warm, slots, load, success and run time, takes off for paid, and says so', () => {
    const fit = { ok: true as const, executor: 'ollama' as const, model: 'm', warm: true, vramFreeMb: 18_432, paid: false, note: 'warm' };
    const s = scoreOf({ agentId: 'gpu-1', fit, freeSlots: 1, maxSlots: 2, resources: gpu(24_576, 6_144), recent: { passed: 23, runs: 25, meanMs: 60_000 } });
    // 40 + 10 + 10 × (1 − 2/8) + 30 × 24/27 + 5 × (1 − 1/30)
    expect(s.score).toBeCloseTo(40 + 10 + 7.5 + (30 * 24) / 27 + 5 * (29 / 30), 1);
    expect(s.reasons).toBe('gpu-1 / m: warm, 18.0 GB VRAM free, 1 of 2 slots free, load 2.00 on 8 CPUs, 23 of 25 recent tasks passed, 60 s mean run');
    const paid = scoreOf({ agentId: 'c', fit: { ...fit, executor: 'claude', model: null, warm: false, paid: true }, freeSlots: 1, maxSlots: 2, resources: null, recent: { passed: 0, runs: 0, meanMs: null } });
    expect(paid.score).toBeCloseTo(10 + 15 - 15, 5);
    expect(paid.reasons).toMatch(/no recent tasks, paid$/);
    expect(scoreOf({ agentId: 'x', fit, freeSlots: 1, maxSlots: 2, resources: null, recent: { passed: 0, runs: 0, meanMs: null } }, false).reasons).toBe('');
  });
});
