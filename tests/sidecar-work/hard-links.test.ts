/**
 * The model's file tools and hard links (issue item 10): a command in the worktree (a shell
 * verification step, run_command) can `ln` an outside file into it, and no path check sees that.
 * Real files, the link planted by a real command.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runTool, type ToolContext } from '../../sidecar/executors/workspace-tools.js';
import { tempDir } from './helpers.js';

let base: string;
let cwd: string;
let outside: string;
let ctx: ToolContext;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: base, cleanup } = await tempDir());
  cwd = join(base, 'worktree');
  outside = join(base, 'outside');
  await mkdir(cwd);
  await mkdir(outside);
  await writeFile(join(outside, 'hard.txt'), 'OUTSIDE-SECRET\n');
  ctx = { root: cwd, signal: new AbortController().signal, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } };
});
afterEach(async () => cleanup());

/** Plants the link as the verification step did: a real command in the worktree. */
async function plantHardLink(): Promise<void> {
  const out = await runTool('run_command', { command: `ln '${join(outside, 'hard.txt')}' hl && echo linked` }, ctx);
  expect(out).toBe('exit code 0\nlinked\n');
}

describe('workspace tools refuse hard-linked files', () => {
  it('read_file does not read an outside file through a hard link', async () => {
    await plantHardLink();
    const out = await runTool('read_file', { path: 'hl' }, ctx);
    expect(out).toMatch(/^error: path 'hl' refused: it has 2 hard links/);
    expect(out).not.toContain('OUTSIDE-SECRET');
  });

  it('write_file does not overwrite an outside file through a hard link', async () => {
    await plantHardLink();
    const out = await runTool('write_file', { path: 'hl', content: 'pwned\n' }, ctx);
    expect(out).toMatch(/^error: path 'hl' refused: it has 2 hard links/);
    expect(await readFile(join(outside, 'hard.txt'), 'utf8')).toBe('OUTSIDE-SECRET\n');
  });

  it('search_text skips a hard-linked file in a walk, and refuses one named on purpose', async () => {
    await plantHardLink();
    await writeFile(join(cwd, 'plain.txt'), 'SECRET is a word\n');
    expect(await runTool('search_text', { pattern: 'SECRET' }, ctx)).toBe('plain.txt:1: SECRET is a word');
    expect(await runTool('search_text', { pattern: 'SECRET', path: 'hl' }, ctx)).toMatch(/^error: path 'hl' refused: it has 2 hard links/);
  });

  it('write_file replaces the file (a new inode), keeps its mode, and leaves no temp file', async () => {
    const script = join(cwd, 'run.sh');
    await writeFile(script, '#!/bin/sh\necho old\n');
    await chmod(script, 0o750);
    const before = await stat(script);
    expect(await runTool('write_file', { path: 'run.sh', content: '#!/bin/sh\necho new\n' }, ctx)).toBe('wrote 19 bytes to run.sh');
    const after = await stat(script);
    // A new inode: what the old one shared with any other name is untouched by the write.
    expect(after.ino).not.toBe(before.ino);
    expect(after.mode & 0o7777).toBe(0o750);
    expect(execFileSync(script, { encoding: 'utf8' })).toBe('new\n');
    expect(await runTool('write_file', { path: 'sub/new.txt', content: 'fresh' }, ctx)).toBe('wrote 5 bytes to sub/new.txt');
    expect(await readFile(join(cwd, 'sub/new.txt'), 'utf8')).toBe('fresh');
    expect(readdirSync(cwd).sort()).toEqual(['run.sh', 'sub']);
    expect(readdirSync(join(cwd, 'sub'))).toEqual(['new.txt']);
  });

  it('refuses a FIFO at once instead of hanging on it', async () => {
    execFileSync('mkfifo', [join(cwd, 'pipe')]);
    expect(await runTool('read_file', { path: 'pipe' }, ctx)).toMatch(/^error: path 'pipe' refused: it is not a regular file/);
    expect(await runTool('write_file', { path: 'pipe', content: 'x' }, ctx)).toMatch(/^error: path 'pipe' refused: it is not a regular file/);
    expect(existsSync(join(cwd, 'pipe'))).toBe(true);
  });
});
