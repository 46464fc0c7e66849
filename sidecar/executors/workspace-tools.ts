/**
 * The tools a model executor offers the model, confined to the task's worktree: their
 * definitions (in the shape of Ollama's `/api/chat` `tools`) and their execution.
 *
 * A tool never throws at the model: a bad argument, a refused path or a failed command comes back
 * as a result text starting with `error:`, so that the model can read it and try something else.
 * File tools act only inside the worktree (see safe-path.ts), and only on plain files with a
 * single link (a hard link can make a worktree file an outside file). `run_command` runs in the
 * worktree with a timeout, an output cap and the run's AbortSignal; it is not a sandbox (a
 * command can do whatever the sidecar's user can), which is why it can be switched off.
 */
import { constants } from 'node:fs';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { join, normalize, relative } from 'node:path';
import { isInside, openForRead, replaceFile, resolveForRead, resolveForWrite } from './safe-path.js';
import { runProcess } from './run-process.js';
import type { OllamaTool } from './ollama-client.js';

/** Options of the workspace tools. */
export interface WorkspaceToolsOptions {
  /** Offer run_command at all. @defaultValue true */
  allowCommands: boolean;
  /** Limit of one run_command. @defaultValue 120000 */
  commandTimeoutMs: number;
  /** Bytes of a command's output returned to the model (the end of it). @defaultValue 16384 */
  commandOutputBytes: number;
  /** Bytes of a file returned by read_file (the start of it). @defaultValue 65536 */
  readMaxBytes: number;
  /** Largest content write_file accepts. @defaultValue 1048576 */
  writeMaxBytes: number;
  /** Most entries list_dir returns. @defaultValue 500 */
  listMaxEntries: number;
  /** Most matching lines search_text returns. @defaultValue 100 */
  searchMaxMatches: number;
  /** Files larger than this are skipped by search_text. @defaultValue 1048576 */
  searchMaxFileBytes: number;
  /** Time between SIGTERM and SIGKILL for a command. @defaultValue 2000 */
  killGraceMs: number;
}

export const WORKSPACE_TOOLS_DEFAULTS: Readonly<WorkspaceToolsOptions> = Object.freeze({
  allowCommands: true,
  commandTimeoutMs: 120_000,
  commandOutputBytes: 16_384,
  readMaxBytes: 65_536,
  writeMaxBytes: 1_048_576,
  listMaxEntries: 500,
  searchMaxMatches: 100,
  searchMaxFileBytes: 1_048_576,
  killGraceMs: 2_000,
});

/** Where and how one tool call runs. */
export interface ToolContext {
  /** The worktree. */
  root: string;
  signal: AbortSignal;
  /** Environment of run_command. */
  env: NodeJS.ProcessEnv;
  /** Repo-relative files or folders write_file may change; absent: anywhere in the worktree. */
  allowedPaths?: readonly string[];
}

/** Whether a repo-relative path is one of `allowed` or inside one of its folders. */
export function pathAllowed(path: string, allowed: readonly string[]): boolean {
  const p = normalize(path).replace(/^(\.\/)+/, '');
  return allowed.some((a) => {
    const base = normalize(a).replace(/^(\.\/)+/, '').replace(/\/+$/, '');
    return base === '' || base === '.' || p === base || p.startsWith(`${base}/`);
  });
}

/** The tool a model calls to ask the operator a question; handled by the executor, not runTool. */
export const ASK_TOOL: OllamaTool = {
  type: 'function',
  function: {
    name: 'ask_operator',
    description:
      'Ask the operator a question when the task is ambiguous and a wrong guess would waste the work. The run stops here; the task resumes later with the answer in its instructions. Ask only what you cannot find out from the code.',
    parameters: {
      type: 'object',
      properties: { question: { type: 'string', description: 'The question, with the context the operator needs' }, options: { type: 'array', items: { type: 'string' }, description: 'Choices, if there are some' } },
      required: ['question'],
    },
  },
};

/** Folders search_text and list_dir do not descend into: metadata and dependency trees. */
const SKIP_DIRS = new Set(['.git', 'node_modules']);

const str = { type: 'string' } as const;

/** The tool definitions offered to the model. */
export function toolDefinitions(opts: Partial<WorkspaceToolsOptions> = {}): OllamaTool[] {
  const o = { ...WORKSPACE_TOOLS_DEFAULTS, ...opts };
  const tool = (name: string, description: string, properties: Record<string, unknown>, required: string[]): OllamaTool => ({
    type: 'function',
    function: { name, description, parameters: { type: 'object', properties, required } },
  });
  const tools = [
    tool('read_file', 'Read a text file of the workspace.', { path: { ...str, description: 'Path relative to the workspace root' } }, [
      'path',
    ]),
    tool(
      'write_file',
      'Create or replace a text file of the workspace with the given content. Parent folders are created.',
      {
        path: { ...str, description: 'Path relative to the workspace root' },
        content: { ...str, description: 'The whole new content' },
      },
      ['path', 'content'],
    ),
    tool(
      'list_dir',
      'List a folder of the workspace; folders end with /.',
      { path: { ...str, description: 'Folder relative to the workspace root; . for the root' } },
      [],
    ),
    tool(
      'search_text',
      'Find lines containing a literal text (case-sensitive) in the files of the workspace.',
      {
        pattern: { ...str, description: 'The text to find' },
        path: { ...str, description: 'Folder or file to search; . for everything' },
      },
      ['pattern'],
    ),
  ];
  if (o.allowCommands) {
    tools.push(
      tool(
        'run_command',
        'Run a shell command (/bin/sh -c) in the workspace root and get its exit status and output. ' +
          `Limit ${Math.round(o.commandTimeoutMs / 1000)} s.`,
        { command: { ...str, description: 'The command line' } },
        ['command'],
      ),
    );
  }
  return tools;
}

/** Runs one tool call; the result text goes back to the model as a `tool` message. */
export async function runTool(
  name: string,
  rawArgs: Record<string, unknown> | string | undefined,
  ctx: ToolContext,
  opts: Partial<WorkspaceToolsOptions> = {},
): Promise<string> {
  const o = { ...WORKSPACE_TOOLS_DEFAULTS, ...opts };
  let args: Record<string, unknown>;
  try {
    args = parseArgs(rawArgs);
  } catch {
    return 'error: the arguments are not a JSON object';
  }
  try {
    switch (name) {
      case 'read_file':
        return await readFileTool(ctx, requireString(args, 'path'), o);
      case 'write_file':
        return await writeFileTool(ctx, requireString(args, 'path'), requireString(args, 'content', true), o);
      case 'list_dir':
        return await listDirTool(ctx, optionalString(args, 'path') ?? '.', o);
      case 'search_text':
        return await searchTool(ctx, requireString(args, 'pattern'), optionalString(args, 'path') ?? '.', o);
      case 'run_command':
        if (!o.allowCommands) return 'error: run_command is not available';
        return await commandTool(ctx, requireString(args, 'command'), o);
      default:
        return `error: unknown tool '${name}'`;
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return `error: no such file or folder`;
    return `error: ${e.message}`;
  }
}

function parseArgs(raw: Record<string, unknown> | string | undefined): Record<string, unknown> {
  if (raw === undefined) return {};
  const value: unknown = typeof raw === 'string' ? (raw.trim() === '' ? {} : JSON.parse(raw)) : raw;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('not an object');
  return value as Record<string, unknown>;
}

function requireString(args: Record<string, unknown>, key: string, allowEmpty = false): string {
  const v = args[key];
  if (typeof v !== 'string' || (!allowEmpty && v === '')) throw new Error(`argument '${key}' must be a non-empty string`);
  return v;
}

function optionalString(args: Record<string, unknown>, key: string): string | undefined {
  const v = args[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

async function readFileTool(ctx: ToolContext, path: string, o: WorkspaceToolsOptions): Promise<string> {
  const opened = await openForRead(ctx.root, path);
  if ('folder' in opened) return `error: '${path}' is a folder; use list_dir`;
  try {
    const buf = Buffer.alloc(Math.min(opened.stat.size, o.readMaxBytes));
    const { bytesRead } = await opened.fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    if (opened.stat.size <= o.readMaxBytes) return text;
    return `${text}\n[truncated: showing the first ${o.readMaxBytes} of ${opened.stat.size} bytes]`;
  } finally {
    await opened.fh.close();
  }
}

async function writeFileTool(ctx: ToolContext, path: string, content: string, o: WorkspaceToolsOptions): Promise<string> {
  // PATH_NOT_ALLOWED: refused before anything is written, so the model can choose another way.
  if (ctx.allowedPaths && !pathAllowed(path, ctx.allowedPaths)) {
    return `error: PATH_NOT_ALLOWED: this task may change only ${ctx.allowedPaths.join(', ')}; '${path}' is outside them`;
  }
  const bytes = Buffer.byteLength(content);
  if (bytes > o.writeMaxBytes) return `error: content is ${bytes} bytes; the limit is ${o.writeMaxBytes}`;
  const target = await resolveForWrite(ctx.root, path);
  const root = await resolveForRead(ctx.root, '.');
  // mkdir of folders that do not exist yet cannot lead outside: their nearest existing ancestor
  // was checked by resolveForWrite, and new folders are plain folders.
  await mkdir(join(target, '..'), { recursive: true });
  // Temp file + rename, so a hard link planted after the check is replaced, not written through;
  // replaceFile keeps an existing file's mode (an executable script stays executable).
  await replaceFile(target, path, content);
  return `wrote ${bytes} bytes to ${relative(root, target)}`;
}

async function listDirTool(ctx: ToolContext, path: string, o: WorkspaceToolsOptions): Promise<string> {
  const real = await resolveForRead(ctx.root, path);
  const entries = await readdir(real, { withFileTypes: true });
  const names = entries
    .filter((e) => !(e.name === '.git'))
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
    .sort();
  if (names.length === 0) return '(empty)';
  const shown = names.slice(0, o.listMaxEntries).join('\n');
  return names.length > o.listMaxEntries ? `${shown}\n[${names.length - o.listMaxEntries} more entries]` : shown;
}

async function searchTool(ctx: ToolContext, pattern: string, path: string, o: WorkspaceToolsOptions): Promise<string> {
  const root = await resolveForRead(ctx.root, '.');
  const start = await resolveForRead(ctx.root, path);
  const matches: string[] = [];
  let more = false;

  const visitFile = async (file: string): Promise<void> => {
    const buf = await readSearchable(file, o.searchMaxFileBytes);
    if (buf === null || buf.includes(0)) return; // not a plain single-link file, too big, or binary
    const lines = buf.toString('utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? '';
      if (!line.includes(pattern)) continue;
      if (matches.length >= o.searchMaxMatches) {
        more = true;
        return;
      }
      matches.push(`${relative(root, file)}:${i + 1}: ${line.length > 300 ? `${line.slice(0, 300)}…` : line}`);
    }
  };

  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (more || ctx.signal.aborted) return;
      const full = join(dir, e.name);
      // Symlinks are not followed: they could lead outside the worktree or into a cycle.
      if (e.isDirectory() && !SKIP_DIRS.has(e.name)) await walk(full);
      else if (e.isFile()) await visitFile(full);
    }
  };

  const st = await stat(start);
  if (st.isDirectory()) await walk(start);
  else if (isInside(root, start)) {
    // A file named on purpose is refused with the reason, rather than skipped in silence.
    const opened = await openForRead(ctx.root, path);
    if (!('folder' in opened)) await opened.fh.close();
    await visitFile(start);
  }
  if (matches.length === 0) return 'no matches';
  return more ? `${matches.join('\n')}\n[more matches not shown]` : matches.join('\n');
}

/**
 * The content of a file search_text may look into, or null to skip it: checked on the open
 * handle, so a file swapped for a symlink or a hard link after the walk saw it is skipped too.
 */
async function readSearchable(file: string, maxBytes: number): Promise<Buffer | null> {
  const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
  if (!fh) return null;
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.nlink > 1 || st.size > maxBytes) return null;
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

async function commandTool(ctx: ToolContext, command: string, o: WorkspaceToolsOptions): Promise<string> {
  const p = await runProcess({
    file: '/bin/sh',
    args: ['-c', command],
    cwd: ctx.root,
    env: ctx.env,
    timeoutMs: o.commandTimeoutMs,
    signal: ctx.signal,
    killGraceMs: o.killGraceMs,
    tailBytes: o.commandOutputBytes,
  });
  if (p.spawnError) return `error: the command could not be started: ${p.spawnError.message}`;
  const status = p.timedOut
    ? `timed out after ${o.commandTimeoutMs} ms`
    : p.cancelled
      ? 'cancelled'
      : p.exitCode === null
        ? `killed by ${p.exitSignal ?? 'a signal'}`
        : `exit code ${p.exitCode}`;
  return `${status}\n${p.output}`;
}
