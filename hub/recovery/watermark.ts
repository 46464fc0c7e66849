/**
 * The watermark, `<data>/watermark.json`: an independent record of the newest change the hub
 * acknowledged (its event id and task id; ULIDs, which sort by time), kept beside the store. At
 * start the store must reach it: LevelDB silently drops a torn or garbled tail of its log, so a
 * store that lost acknowledged writes opens "cleanly" and only this tells.
 *
 * It is written atomically off the hot path: at most once a second while changes are
 * acknowledged, and at a clean close. So it may be up to a second behind the store (never
 * ahead: it follows onChange, which reports only durable changes); writes acknowledged in the
 * second before a crash are the ones it cannot vouch for.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import type { TaskStore } from '../store/task-store.js';
import { readJsonFile } from './json-file.js';

export const WATERMARK_FILE = 'watermark.json';

export interface Watermark {
  /** The newest acknowledged event id (null: none yet). */
  newest_event: string | null;
  /** The newest task id created. */
  newest_task: string | null;
  /** When it was written (ms since epoch). */
  at: number;
  /** Written at a clean close. */
  clean: boolean;
}

export async function readWatermark(dataDir: string): Promise<Watermark | 'garbled' | null> {
  const idOrNull = (v: unknown) => v === null || typeof v === 'string';
  return readJsonFile<Watermark>(join(dataDir, WATERMARK_FILE), (w) => idOrNull(w.newest_event) && idOrNull(w.newest_task) && typeof w.at === 'number');
}

export function writeWatermark(dataDir: string, w: Watermark): Promise<void> {
  return writeFileAtomic(join(dataDir, WATERMARK_FILE), `${JSON.stringify(w)}\n`);
}

/** `a` is behind `b` (ULIDs compare as strings; null is before everything). */
export function isBehind(a: string | null, b: string | null): boolean {
  return b !== null && (a === null || a < b);
}

/** Follows the store's durable changes and keeps the watermark file at most `intervalMs` behind. */
export class WatermarkKeeper {
  private newestEvent: string | null;
  private newestTask: string | null;
  private dirty = true;
  private writing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly off: () => void;

  constructor(
    store: TaskStore,
    private readonly dataDir: string,
    /** The store's newest ids as it opened (recovery.ts read them). */
    start: { newest_event: string | null; newest_task: string | null },
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    intervalMs = 1000,
  ) {
    this.newestEvent = start.newest_event;
    this.newestTask = start.newest_task;
    this.off = store.onChange(({ event, before, task }) => {
      if (isBehind(this.newestEvent, event.id)) this.newestEvent = event.id;
      if (before === null && isBehind(this.newestTask, task.id)) this.newestTask = task.id;
      this.dirty = true;
    });
    this.timer = setInterval(() => void this.flush(false), intervalMs);
    this.timer.unref();
  }

  /** Writes the watermark if it changed (one write at a time). */
  flush(clean: boolean): Promise<void> {
    if (!this.dirty && !clean) return this.writing;
    this.dirty = false;
    const w: Watermark = { newest_event: this.newestEvent, newest_task: this.newestTask, at: this.now(), clean };
    this.writing = this.writing
      .then(() => writeWatermark(this.dataDir, w))
      .catch((err: unknown) => {
        this.dirty = true;
        this.log.warn({ err }, 'could not write the watermark (the store is unaffected; lost writes may go unnoticed at the next start)');
      });
    return this.writing;
  }

  /** After the store closed (nothing more can change): the last, clean write. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.off();
    await this.flush(true);
  }
}
