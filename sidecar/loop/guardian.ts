/**
 * A guardian's prompt (docs/workflow.md, "Guardian chains"): the role's editable template from
 * the package's prompts/guardians/<role>.md (or SWITCHYARD_PROMPTS_DIR/guardians/<role>.md on
 * this host, to override it), then the task. The template says what the role checks, which
 * mechanical checks to run with the workspace's tools, and how to end: a line `VERDICT: PASS`, or
 * `VERDICT: REJECT` followed by the findings, which the hub reads (hub/workflow/verdict.ts).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Task } from '../../shared/task.js';
import { buildTaskPrompt, type PromptTask } from './prompt.js';
import { describeChecks, type GuardianCheck } from '../guardian/checks.js';

/** The package's root: the nearest folder above this module with a package.json (works from src and dist). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dir;
}

/** Where a role's template is: the host's override first, then the package's own. */
export function templatePath(role: string, env: NodeJS.ProcessEnv = process.env): string {
  const own = env.SWITCHYARD_PROMPTS_DIR ? join(env.SWITCHYARD_PROMPTS_DIR, 'guardians', `${role}.md`) : null;
  return own && existsSync(own) ? own : join(packageRoot(), 'prompts', 'guardians', `${role}.md`);
}

export async function guardianPrompt(task: PromptTask & Partial<Pick<Task, 'guardian'>>, _cwd: string, checks: readonly GuardianCheck[] = []): Promise<string> {
  const role = task.guardian?.role ?? 'qa';
  const template = await readFile(templatePath(role), 'utf8').catch(
    () => `You are the ${role} guardian. Review the work. End with a line VERDICT: PASS, or VERDICT: REJECT followed by your findings.`,
  );
  const mechanical = describeChecks(checks);
  return `${template.trim()}\n\n---\n\n${mechanical ? `${mechanical}\n\n---\n\n` : ''}${buildTaskPrompt(task)}`;
}
