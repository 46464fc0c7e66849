/**
 * The docs guardian's check that changed public interfaces are documented: each name a change
 * newly exports from a source module (not a test) must appear in the repo's Markdown (README,
 * docs/, CHANGELOG…), or the module's own doc comment right above it. A heuristic, and said to be
 * one: it cannot tell good documentation from a mention, which is what the guardian reads for.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Finding } from '../../shared/workflow.js';
import type { AddedLine, Change } from './diff.js';

const SOURCE = /\.(?:[cm]?[jt]sx?)$/;
const TEST = /(?:^|\/)(?:tests?|__tests__|spec|fixtures?)\/|\.(?:test|spec)\.[cm]?[jt]sx?$/;
const EXPORT = /^\s*export\s+(?:declare\s+)?(?:default\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\*?|class|const|let|var|interface|type|enum)\s+([A-Za-z_$][\w$]*)/;
const EXPORT_LIST = /^\s*export\s*(?:type\s*)?\{([^}]*)\}/;
/** Markdown read at most, in bytes: a docs tree bigger than this is read from its start. */
const MAX_DOCS_BYTES = 8 * 1024 * 1024;
const SKIP_DIRS = new Set(['.git', 'node_modules', 'dist', 'build', 'coverage', 'vendor']);

/** The names a change exports anew, with where. Pure. */
export function exportedNames(change: Change): Array<{ name: string; at: AddedLine }> {
  const out: Array<{ name: string; at: AddedLine }> = [];
  for (const added of change.added) {
    if (!SOURCE.test(added.file) || TEST.test(added.file)) continue;
    const one = EXPORT.exec(added.text);
    if (one) {
      out.push({ name: one[1]!, at: added });
      continue;
    }
    const list = EXPORT_LIST.exec(added.text);
    if (list) {
      for (const part of list[1]!.split(',')) {
        const name = part.trim().split(/\s+as\s+/).pop()?.trim();
        if (name && /^[A-Za-z_$][\w$]*$/.test(name) && name !== 'default') out.push({ name, at: added });
      }
    }
  }
  return out;
}

/** Every Markdown file's text under `root`, bounded. */
export async function markdownText(root: string): Promise<string> {
  const parts: string[] = [];
  let bytes = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (bytes >= MAX_DOCS_BYTES) return;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) await walk(path);
      } else if (entry.isFile() && /\.(?:md|mdx|markdown)$/i.test(entry.name)) {
        const size = (await stat(path)).size;
        if (bytes + size > MAX_DOCS_BYTES) continue;
        bytes += size;
        parts.push(await readFile(path, 'utf8'));
      }
    }
  };
  await walk(root);
  return parts.join('\n');
}

/** Findings for each newly exported name that neither the Markdown nor a doc comment above it mentions. */
export function undocumented(change: Change, markdown: string): Finding[] {
  const commented = docCommented(change);
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const { name, at } of exportedNames(change)) {
    if (seen.has(name)) continue;
    seen.add(name);
    if (commented.has(`${at.file}:${at.line}`)) continue;
    if (new RegExp(`(^|[^\\w$])${name.replace(/\$/g, '\\$')}([^\\w$]|$)`).test(markdown)) continue;
    findings.push({ message: `\`${name}\` is newly exported but neither the docs nor a doc comment describe it`, file: at.file, line: at.line, severity: 'medium' });
  }
  return findings;
}

/** Added export lines right below an added `/** … *\/` comment (the line before is its end). */
function docCommented(change: Change): Set<string> {
  const byPlace = new Map(change.added.map((a) => [`${a.file}:${a.line}`, a.text]));
  const out = new Set<string>();
  for (const a of change.added) {
    const before = byPlace.get(`${a.file}:${a.line - 1}`);
    if (before !== undefined && /\*\/\s*$/.test(before)) out.add(`${a.file}:${a.line}`);
  }
  return out;
}
