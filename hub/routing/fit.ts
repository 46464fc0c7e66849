/**
 * Whether one candidate fits on one agent now, from what its sidecar last reported (docs/routing.md,
 * "Which agents can run a candidate"): the executor is available (or its usage limit has reset),
 * the model is installed and not at fault, and either warm (loaded) or, cold, small enough for
 * the host's free VRAM × headroom. A report older than the staleness bound is not trusted. Pure.
 */
import type { ExecutorAdvert, HostResources, ModelInfo } from '../../shared/protocol.js';
import { parseCandidate, ROUTABLE_MODEL } from '../../shared/routing.js';

/** What fit reads of an agent (a LiveAgent has it all). */
export interface FitAgent {
  id: string;
  executors: readonly ExecutorAdvert[];
  resources: HostResources | null;
  lastSeenAt: number | null;
}

export interface FitOptions {
  now: number;
  /** Reports older than this are not trusted (ms). */
  staleMs: number;
  /** Share of free VRAM a cold model may fill. */
  headroom: number;
}

export type Fit =
  | { ok: true; executor: 'ollama' | 'claude'; model: string | null; warm: boolean; vramFreeMb: number | null; paid: boolean; note: string }
  | { ok: false; why: string };

const MB = 1024 * 1024;

/** Free VRAM over all the host's GPUs (MB); null when it reports none. */
export function freeVramMb(resources: HostResources | null): number | null {
  if (!resources || resources.gpus.length === 0) return null;
  return resources.gpus.reduce((sum, g) => sum + Math.max(0, g.vram_total_mb - g.vram_used_mb), 0);
}

function executorUsable(advert: ExecutorAdvert | undefined, name: string, now: number): string | null {
  if (!advert) return `no ${name} executor`;
  if (advert.available) return null;
  // A usage limit that has reset: usable again, though the sidecar's next recheck has not said so yet.
  if (advert.until !== undefined && advert.until <= now) return null;
  const until = advert.until !== undefined ? ` until ${new Date(advert.until).toISOString()}` : '';
  return `${name} unavailable${until}${advert.reason ? `: ${advert.reason}` : ''}`;
}

function coldFit(info: ModelInfo | undefined, free: number | null, headroom: number): { ok: boolean; why: string } {
  if (!info?.size_bytes) return { ok: true, why: 'cold, size unknown' };
  const needMb = info.size_bytes / MB;
  if (free === null) return { ok: false, why: `cold and ${(needMb / 1024).toFixed(1)} GB, but the host reports no GPU VRAM` };
  const room = free * headroom;
  if (needMb > room) return { ok: false, why: `cold and ${(needMb / 1024).toFixed(1)} GB, more than ${(room / 1024).toFixed(1)} GB of free VRAM (${Math.round(headroom * 100)} % of ${(free / 1024).toFixed(1)} GB)` };
  return { ok: true, why: `cold, ${(needMb / 1024).toFixed(1)} GB fits in ${(free / 1024).toFixed(1)} GB VRAM free` };
}

export function fitOf(agent: FitAgent, candidate: string, opts: FitOptions): Fit {
  if (agent.lastSeenAt === null || opts.now - agent.lastSeenAt > opts.staleMs) {
    const age = agent.lastSeenAt === null ? 'never' : `${Math.round((opts.now - agent.lastSeenAt) / 1000)} s ago`;
    return { ok: false, why: `its last report (${age}) is too old to trust` };
  }
  const { executor, model } = parseCandidate(candidate);
  const advert = agent.executors.find((e) => e.name === executor);
  const unusable = executorUsable(advert, executor, opts.now);
  if (unusable) return { ok: false, why: unusable };
  const free = freeVramMb(agent.resources);
  if (executor === 'claude') {
    if (model !== null && advert!.models.length > 0 && !advert!.models.includes(model)) return { ok: false, why: `claude here has no model ${model}` };
    return { ok: true, executor, model, warm: false, vramFreeMb: free, paid: true, note: 'claude available' };
  }
  const faults = new Set((advert!.model_faults ?? []).map((f) => f.name));
  const infoOf = (name: string) => advert!.model_info?.find((m) => m.name === name);
  if (model !== null) {
    if (faults.has(model)) return { ok: false, why: `model ${model} at fault: ${advert!.model_faults!.find((f) => f.name === model)!.reason}` };
    if (!advert!.models.includes(model)) return { ok: false, why: `no model ${model}` };
    const info = infoOf(model);
    if (info?.loaded) return { ok: true, executor, model, warm: true, vramFreeMb: free, paid: false, note: 'warm' };
    const cold = coldFit(info, free, opts.headroom);
    return cold.ok ? { ok: true, executor, model, warm: false, vramFreeMb: free, paid: false, note: cold.why } : { ok: false, why: `${model} ${cold.why}` };
  }
  // Any model: a warm one first, else the first installed one that fits cold.
  // Only names that can be written into capabilities and keys (an advert may carry any text).
  const usable = advert!.models.filter((m) => !faults.has(m) && ROUTABLE_MODEL.test(m));
  const warm = usable.find((m) => infoOf(m)?.loaded);
  if (warm) return { ok: true, executor, model: warm, warm: true, vramFreeMb: free, paid: false, note: 'warm' };
  let firstWhy = 'no model installed';
  for (const m of usable) {
    const cold = coldFit(infoOf(m), free, opts.headroom);
    if (cold.ok) return { ok: true, executor, model: m, warm: false, vramFreeMb: free, paid: false, note: cold.why };
    if (firstWhy === 'no model installed') firstWhy = `${m} ${cold.why}`;
  }
  return { ok: false, why: firstWhy };
}
