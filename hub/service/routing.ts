/**
 * Routing requirements a task implies: a task that names an executor or a model requires the
 * capability `executor:<name>` / `model:<name>`, which agents offer for what they advertise
 * (AgentRegistry.matchCapabilities). So the store's capability matching also routes by executor
 * and model, at no extra cost.
 */
import type { TaskSpec } from '../../shared/task.js';

export function withRoutingCapabilities(spec: TaskSpec): TaskSpec {
  // Derived only from a well-typed spec: anything else is left for the store to refuse.
  if (spec.capabilities !== undefined && !Array.isArray(spec.capabilities)) return spec;
  const extra: string[] = [];
  if (spec.executor) extra.push(`executor:${spec.executor}`);
  if (spec.model) extra.push(`model:${spec.model}`);
  if (extra.length === 0) return spec;
  const caps = new Set(spec.capabilities ?? []);
  for (const c of extra) caps.add(c);
  return { ...spec, capabilities: [...caps] };
}
