/**
 * The archive of tasks retention removed from the live store: `<data>/archive/`, gzip-compressed
 * JSON lines, one line per task (`{"task": {...}, "events": [...]}`), one file per UTC day of
 * the task's creation (the time its ULID id encodes). The day comes from the id alone, so
 * `task show ID` opens the one day that can hold it, and the live store keeps no index of the
 * archive that would grow with it.
 *
 * Appending: each batch is one gzip member appended to the day's file, then fsync'd; gzip members
 * concatenate into one stream (`zcat` and zlib read them as one). A process appends only to files
 * it created: the first write of a day in a process takes the next free name (`YYYY-MM-DD.jsonl.gz`,
 * then `YYYY-MM-DD.1.jsonl.gz`, ...), so a member cut short by a crash can only be the last one
 * of its file, and readers stop there, having read every whole member before it.
 *
 * The same task can appear more than once (a round interrupted between the archive write and the
 * removal archives it again): readers keep the last line of each id.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGunzip, gzip } from 'node:zlib';
import type { ArchivedTask, ArchiveSink } from '../store/task-store.js';

export type { ArchivedTask };

const gzipAsync = promisify(gzip);

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The archive day (YYYY-MM-DD, UTC) of a task id: the day its ULID says it was created; null if not a ULID. */
export function dayOfId(id: string): string | null {
  if (!ULID.test(id)) return null;
  let ms = 0;
  for (const c of id.slice(0, 10)) ms = ms * 32 + ALPHABET.indexOf(c);
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString().slice(0, 10);
}

const FILE = /^(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.jsonl\.gz$/;

export class TaskArchive implements ArchiveSink {
  /** The file this process appends to, per day. */
  private readonly current = new Map<string, string>();
  /** Appends run one at a time (each member whole before the next). */
  private tail: Promise<void> = Promise.resolve();

  constructor(readonly dir: string) {}

  /** Appends entries, one gzip member per day they fall on; resolves once fsync'd. */
  append(entries: ArchivedTask[]): Promise<void> {
    const run = this.tail.then(() => this.write(entries));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async write(entries: ArchivedTask[]): Promise<void> {
    const byDay = new Map<string, string[]>();
    for (const entry of entries) {
      const day = dayOfId(entry.task.id) ?? 'unknown';
      let lines = byDay.get(day);
      if (!lines) byDay.set(day, (lines = []));
      lines.push(JSON.stringify(entry));
    }
    await mkdir(this.dir, { recursive: true });
    for (const [day, lines] of byDay) {
      // Compressed on the thread pool, so the event loop (and dispatch) goes on meanwhile; at
      // level 1, since in the soak bench retention removes as many tasks a second as dispatch
      // completes, and gzip's default level 6 costs several times the CPU for a modestly smaller file.
      const member = await gzipAsync(`${lines.join('\n')}\n`, { level: 1 });
      const file = await this.fileFor(day);
      const fh = await open(join(this.dir, file), 'a');
      try {
        await fh.write(member);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }

  /** This process's file for `day`: a new one the first time (its directory entry fsync'd). */
  private async fileFor(day: string): Promise<string> {
    const known = this.current.get(day);
    if (known) return known;
    const taken = new Set(await readdir(this.dir));
    let file = `${day}.jsonl.gz`;
    for (let n = 1; taken.has(file); n++) file = `${day}.${n}.jsonl.gz`;
    const fh = await open(join(this.dir, file), 'wx');
    await fh.close();
    const dirHandle = await open(this.dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
    this.current.set(day, file);
    return file;
  }

  /** The archived task with this id (its last copy), or undefined. */
  async find(id: string): Promise<ArchivedTask | undefined> {
    const day = dayOfId(id);
    if (day === null) return undefined;
    let found: ArchivedTask | undefined;
    const needle = `"id":"${id}"`;
    for (const file of await this.filesOf(day)) {
      await readLines(join(this.dir, file), (line) => {
        if (!line.includes(needle)) return;
        const entry = JSON.parse(line) as ArchivedTask;
        if (entry.task.id === id) found = entry;
      });
    }
    return found;
  }

  /** Every task archived for `day`, the last copy of each, in the order first archived. */
  async readDay(day: string): Promise<ArchivedTask[]> {
    const byId = new Map<string, ArchivedTask>();
    for (const file of await this.filesOf(day)) {
      await readLines(join(this.dir, file), (line) => {
        const entry = JSON.parse(line) as ArchivedTask;
        byId.set(entry.task.id, entry);
      });
    }
    return [...byId.values()];
  }

  /** The days the archive holds, oldest first. */
  async days(): Promise<string[]> {
    const days = new Set<string>();
    for (const name of await this.names()) {
      const m = FILE.exec(name);
      if (m) days.add(m[1]!);
    }
    return [...days].sort();
  }

  /** Bytes on disk. */
  async bytes(): Promise<number> {
    let total = 0;
    for (const name of await this.names()) total += (await stat(join(this.dir, name))).size;
    return total;
  }

  private async names(): Promise<string[]> {
    try {
      return await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  private async filesOf(day: string): Promise<string[]> {
    const files: Array<{ name: string; n: number }> = [];
    for (const name of await this.names()) {
      const m = FILE.exec(name);
      if (m && m[1] === day) files.push({ name, n: m[2] === undefined ? 0 : Number(m[2]) });
    }
    return files.sort((a, b) => a.n - b.n).map((f) => f.name);
  }
}

/**
 * Calls `each` with every whole line of a (multi-member) gzip file. A member cut short at the end
 * (a crash while it was written) ends the file there: what came before it is read, the cut line
 * is not.
 */
function readLines(path: string, each: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const gunzip = createGunzip();
    const input = createReadStream(path);
    let rest = '';
    let failed = false;
    gunzip.setEncoding('utf8');
    gunzip.on('data', (text: string) => {
      if (failed) return;
      const lines = (rest + text).split('\n');
      rest = lines.pop()!;
      try {
        for (const line of lines) if (line !== '') each(line);
      } catch (err) {
        failed = true;
        input.destroy();
        reject(err);
      }
    });
    gunzip.on('end', () => {
      if (!failed) resolve();
    });
    gunzip.on('error', (err: NodeJS.ErrnoException) => {
      input.destroy();
      // A truncated last member: the whole lines before it were read.
      if (err.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(err.message)) resolve();
      else reject(err);
    });
    input.on('error', reject);
    input.pipe(gunzip);
  });
}
