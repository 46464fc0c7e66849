/**
 * The workflow's fields of a new task record (docs/workflow.md): the gate's decision always; the
 * plan phase, the guardian chain, the allowed paths and the iteration bound only when they apply,
 * so that a plain task's record is as it was. Pure.
 */
import type { Complexity, Task, TaskSpec } from '../../shared/task.js';
import { chainFor, decideSupervision } from './gate.js';

export function workflowFields(spec: TaskSpec, complexity: Complexity): Partial<Task> {
  const supervision = decideSupervision(spec, complexity);
  const fields: Partial<Task> = { supervision };
  if (supervision.mode !== 'auto') fields.phase = 'plan';
  const chain = chainFor(supervision.mode, spec.chain ?? []);
  if (chain.length > 0) fields.chain = chain;
  if (spec.allowed_paths !== undefined) fields.allowed_paths = [...spec.allowed_paths];
  if (spec.max_iterations !== undefined) fields.max_iterations = spec.max_iterations;
  return fields;
}
