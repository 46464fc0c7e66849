/**
 * Assembles a task's context from the hub's history and settings (docs/context.md): the budget
 * of its repo, the relevant history entries, and file excerpts where the hub has the repo's
 * checkout (`contextRepoDirs`). Synchronous on purpose: it runs inside the store's onApplied, so
 * the context is written in the same batch as the task's queueing, before any agent is offered it.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { isAbsolute, normalize, resolve, sep } from 'node:path';
import type { AssembledContext } from '../../shared/context.js';
import type { Task } from '../../shared/task.js';
import type { HistoryService } from '../history/service.js';
import { assembleContext } from './assemble.js';

export interface ContextSettings {
  /** Tokens by default. */
  budget: number;
  /** `repo=tokens`. */
  budgets: readonly string[];
  /** `repo=/abs/path`. */
  repoDirs: readonly string[];
}

/** Bytes of one file quoted at most. */
const EXCERPT_BYTES = 2048;

export class ContextService {
  private readonly budgets = new Map<string, number>();
  private readonly dirs = new Map<string, string>();

  constructor(
    private readonly history: HistoryService,
    private readonly settings: ContextSettings,
    private readonly now: () => number,
  ) {
    for (const b of settings.budgets) {
      const i = b.lastIndexOf('=');
      this.budgets.set(b.slice(0, i), Number(b.slice(i + 1)));
    }
    for (const d of settings.repoDirs) {
      const i = d.indexOf('=/');
      this.dirs.set(d.slice(0, i), d.slice(i + 1));
    }
  }

  budgetFor(repo: string | null): number {
    return (repo !== null ? this.budgets.get(repo) : undefined) ?? this.settings.budget;
  }

  assemble(task: Task): AssembledContext {
    const dir = task.repo !== null ? this.dirs.get(task.repo) : undefined;
    return assembleContext({
      task,
      relevant: this.history.relevant(task),
      budget: this.budgetFor(task.repo),
      now: this.now(),
      ...(dir ? { excerpt: (path: string) => excerptOf(dir, path) } : {}),
    });
  }
}

/** The first EXCERPT_BYTES of a file inside `dir` (never outside it), cut at a line end; null if unreadable. */
export function excerptOf(dir: string, path: string): string | null {
  if (isAbsolute(path)) return null;
  const full = resolve(dir, normalize(path));
  if (!full.startsWith(dir.endsWith(sep) ? dir : dir + sep)) return null;
  let fd: number | null = null;
  try {
    fd = openSync(full, 'r');
    const buf = Buffer.alloc(EXCERPT_BYTES);
    const n = readSync(fd, buf, 0, EXCERPT_BYTES, 0);
    let text = buf.subarray(0, n).toString('utf8');
    if (n === EXCERPT_BYTES) {
      const cut = text.lastIndexOf('\n');
      text = `${cut > 0 ? text.slice(0, cut) : text}\n…`;
    }
    return text.includes('\u0000') ? null : text;
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
