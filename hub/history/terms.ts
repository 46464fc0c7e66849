/**
 * The words and files an entry or a task is about: what relevance scoring matches on
 * (docs/context.md, "Scoring"). Words are lower-cased runs of letters and digits of 3+
 * characters, minus a short list of words every task has; files are compared whole and by folder.
 */

const STOP = new Set(
  'the and for with that this from into when then than them they are was were has have had not but all any can may must should would will its add use make fix new one two out via per get set also only more most other some such each which what where who how our your their there here been being over under after before about task tasks file files code test tests'.split(' '),
);

/** Distinct words of a text (at most `max`). */
export function wordsOf(text: string, max = 256): string[] {
  const out = new Set<string>();
  for (const m of text.toLowerCase().matchAll(/[\p{L}\p{N}]{3,}/gu)) {
    const w = m[0];
    if (!STOP.has(w)) out.add(w);
    if (out.size >= max) break;
  }
  return [...out];
}

/** A file's folder ('' for a file at the root). */
export function folderOf(path: string): string {
  const clean = path.replace(/^\.\//, '').replace(/\/+$/, '');
  const i = clean.lastIndexOf('/');
  return i < 0 ? '' : clean.slice(0, i);
}

/** A path as compared: no leading `./`, no trailing `/`. */
export function normalPath(path: string): string {
  return path.replace(/^\.\//, '').replace(/\/+$/, '');
}
