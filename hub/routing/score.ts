/**
 * The score that chooses among the agents a candidate fits on (docs/routing.md, "The score"),
 * with its reasons in words for the task's record. Higher wins:
 *   warm model          +40  (no load time, and it is known to fit)
 *   free slots          +20 × free / slots
 *   host load           +10 × (1 − min(1, load_1m / cpus))
 *   recent success      +30 × (passed + 1) / (runs + 2)   (an agent with no record scores 15)
 *   run time            +5 × (1 − min(1, mean / 30 min))
 *   paid executor       −15  (Claude costs money; a local model that fits is preferred)
 * Pure.
 */
import type { HostResources } from '../../shared/protocol.js';
import type { Fit } from './fit.js';
import type { RecentRecord } from './outcomes.js';

export const WEIGHTS = { warm: 40, slots: 20, load: 10, success: 30, runtime: 5, paid: 15 } as const;
const RUNTIME_SCALE_MS = 30 * 60_000;

export interface ScoreInput {
  agentId: string;
  fit: Extract<Fit, { ok: true }>;
  freeSlots: number;
  maxSlots: number;
  resources: HostResources | null;
  recent: RecentRecord;
}

/** `explain`: also say why in words (only the decision needs them; choosing among agents does not). */
export function scoreOf(input: ScoreInput, explain = true): { score: number; reasons: string } {
  const { fit, recent } = input;
  let score = 0;
  const parts: string[] = [];
  const say = explain ? (text: () => string) => parts.push(text()) : () => 0;
  if (fit.warm) {
    score += WEIGHTS.warm;
    say(() => 'warm');
  } else if (fit.executor === 'ollama') say(() => fit.note);
  if (fit.vramFreeMb !== null) say(() => `${(fit.vramFreeMb! / 1024).toFixed(1)} GB VRAM free`);
  const slots = Math.max(1, input.maxSlots);
  score += (WEIGHTS.slots * Math.max(0, input.freeSlots)) / slots;
  say(() => `${input.freeSlots} of ${slots} slots free`);
  const r = input.resources;
  if (r && r.cpu_count > 0) {
    const load = Math.min(1, r.load_1m / r.cpu_count);
    score += WEIGHTS.load * (1 - load);
    say(() => `load ${r.load_1m.toFixed(2)} on ${r.cpu_count} CPUs`);
  }
  score += (WEIGHTS.success * (recent.passed + 1)) / (recent.runs + 2);
  say(() => (recent.runs === 0 ? 'no recent tasks' : `${recent.passed} of ${recent.runs} recent tasks passed`));
  if (recent.meanMs !== null) {
    score += WEIGHTS.runtime * (1 - Math.min(1, recent.meanMs / RUNTIME_SCALE_MS));
    say(() => `${Math.round(recent.meanMs! / 1000)} s mean run`);
  }
  if (fit.paid) {
    score -= WEIGHTS.paid;
    say(() => 'paid');
  }
  const rounded = Math.round(score * 100) / 100;
  if (!explain) return { score: rounded, reasons: '' };
  const what = fit.model === null ? fit.executor : fit.model;
  return { score: rounded, reasons: `${input.agentId} / ${what}: ${parts.join(', ')}` };
}
