/**
 * Names a task's branch: `task/<id>-<slug of the title>`. The id keeps it unique, the slug makes
 * it readable in a PR list. Both are reduced to characters valid in any git ref.
 */

/** Most characters of the title's slug. */
export const SLUG_MAX = 40;

export function slugify(text: string, max = SLUG_MAX): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents come off: é -> e
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug.slice(0, max).replace(/-+$/g, '');
}

/** A task id made safe as a ref component and a folder name. */
export function safeId(id: string): string {
  const s = id.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '');
  return s || 'task';
}

export function branchName(taskId: string, title: string): string {
  const slug = slugify(title);
  return slug ? `task/${safeId(taskId)}-${slug}` : `task/${safeId(taskId)}`;
}
