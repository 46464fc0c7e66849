/**
 * What the guarded change is: the files it touches and the lines it adds, read from git as
 * `base...HEAD` (against the merge base, so work on the default branch since the implementation
 * started is not counted as its own). The guardians' mechanical checks read only this.
 */
import type { Git } from '../workspace/git.js';

export interface AddedLine {
  file: string;
  /** 1-based line number in the new file. */
  line: number;
  text: string;
}

export interface Change {
  files: string[];
  added: AddedLine[];
}

/** Lines longer than this are cut (minified bundles); the scan still sees their start. */
const MAX_LINE = 4_096;
/** Added lines read at most: a change bigger than this is read from its start. */
const MAX_LINES = 200_000;

export async function readChange(git: Git, cwd: string, base: string): Promise<Change> {
  const names = await git.run(['diff', '--name-only', '-z', '--no-renames', `${base}...HEAD`], { cwd });
  const patch = await git.run(['diff', '--unified=0', '--no-color', '--no-renames', '--no-ext-diff', `${base}...HEAD`], { cwd });
  return { files: names.split('\0').filter(Boolean), added: addedLines(patch) };
}

/** The added lines of a unified diff, each with its file and new line number. Pure. */
export function addedLines(patch: string): AddedLine[] {
  const out: AddedLine[] = [];
  let file: string | null = null;
  let line = 0;
  for (const raw of patch.split('\n')) {
    if (raw.startsWith('+++ ')) {
      const name = raw.slice(4);
      file = name === '/dev/null' ? null : name.replace(/^b\//, '');
    } else if (raw.startsWith('@@')) {
      const m = /\+(\d+)(?:,\d+)? @@/.exec(raw);
      line = m ? Number(m[1]) : 0;
    } else if (raw.startsWith('+') && file !== null) {
      out.push({ file, line, text: raw.slice(1, 1 + MAX_LINE) });
      line++;
      if (out.length >= MAX_LINES) break;
    } else if (raw.startsWith(' ')) {
      line++;
    }
  }
  return out;
}
