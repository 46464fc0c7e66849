/**
 * When a task does not say how complex it is, this heuristic decides, and records why, so that
 * routing by model tier is explainable. The rule, in order:
 *  1. a `shell` task with a command is `trivial` (no model reasoning involved);
 *  2. `complex` when the work is broad: more than 5 context files, a description over 2000
 *     characters, more than 3 verification steps, or keywords such as refactor, architecture,
 *     migrate, design, concurrency, security;
 *  3. `trivial` when it is small: a description under 200 characters, at most one context file,
 *     and keywords such as typo, rename, bump, comment, format, docs;
 *  4. otherwise `standard`.
 */
import type { Complexity, TaskSpec } from '../../shared/task.js';

const COMPLEX_WORDS = /\b(refactor|architect\w*|migrat\w*|redesign|design|concurren\w*|security|rewrite|performance)\b/i;
const TRIVIAL_WORDS = /\b(typo|rename|bump|comment|format(ting)?|docs?|lint|spelling)\b/i;

export function inferComplexity(spec: TaskSpec): { complexity: Complexity; reason: string } {
  if (spec.complexity) return { complexity: spec.complexity, reason: 'given' };
  if (spec.executor === 'shell' && spec.command) return { complexity: 'trivial', reason: 'shell command' };
  const text = `${spec.title}\n${spec.description ?? ''}`;
  const files = spec.context?.files?.length ?? 0;
  const steps = spec.verification?.length ?? 0;
  const descLength = spec.description?.length ?? 0;
  if (files > 5) return { complexity: 'complex', reason: `${files} context files (> 5)` };
  if (descLength > 2000) return { complexity: 'complex', reason: `description of ${descLength} chars (> 2000)` };
  if (steps > 3) return { complexity: 'complex', reason: `${steps} verification steps (> 3)` };
  const complexWord = COMPLEX_WORDS.exec(text);
  if (complexWord) return { complexity: 'complex', reason: `keyword '${complexWord[0].toLowerCase()}'` };
  const trivialWord = TRIVIAL_WORDS.exec(text);
  if (trivialWord && descLength < 200 && files <= 1) {
    return { complexity: 'trivial', reason: `keyword '${trivialWord[0].toLowerCase()}', small scope` };
  }
  return { complexity: 'standard', reason: 'default' };
}
