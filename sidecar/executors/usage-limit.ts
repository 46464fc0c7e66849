/**
 * Recognises Claude's usage-limit messages and when the limit resets, so that a task stopped by
 * a subscription limit is retried after the reset instead of failing (or spinning) now.
 *
 * Known forms (they changed over Claude Code versions):
 * - `Claude AI usage limit reached|1767225600` (reset as seconds since the epoch)
 * - `Claude usage limit reached. Your limit will reset at 3pm (America/New_York).`
 * - `5-hour limit reached ∙ resets 3pm` and `You've hit your limit · resets 3:30pm (Europe/Berlin)`
 */

/** A usage limit found in a message. */
export interface UsageLimit {
  /** The line that said so (trimmed, bounded). */
  message: string;
  /** When a retry can succeed (ms since the epoch), when the message said. */
  retryAfter?: number;
}

const LIMIT_RE = /usage limit reached|limit reached\b.*\bresets?\b|hit your (?:usage )?limit/i;
const EPOCH_RE = /usage limit reached\|(\d{9,13})/i;
const RESET_RE = /\bresets?\s+(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)?(?:\s*\(([^)]+)\))?/i;

/** The first usage limit found in `texts` (result text, stderr, assistant text...), or null. */
export function detectUsageLimit(texts: ReadonlyArray<string | undefined | null>, now = Date.now()): UsageLimit | null {
  for (const text of texts) {
    if (!text) continue;
    const line = text.split('\n').find((l) => LIMIT_RE.test(l));
    if (line === undefined) continue;
    const limit: UsageLimit = { message: line.trim().slice(0, 300) };
    const retryAfter = parseReset(line, now);
    if (retryAfter !== undefined) limit.retryAfter = retryAfter;
    return limit;
  }
  return null;
}

/** The reset time a limit line names, as ms since the epoch; undefined when it names none. */
export function parseReset(line: string, now = Date.now()): number | undefined {
  const epoch = EPOCH_RE.exec(line);
  if (epoch) {
    const n = Number(epoch[1]);
    // 13 digits are milliseconds already; fewer are seconds.
    return (epoch[1] ?? '').length >= 13 ? n : n * 1000;
  }
  const m = RESET_RE.exec(line);
  if (!m) return undefined;
  let hour = Number(m[1]);
  const minute = m[2] === undefined ? 0 : Number(m[2]);
  const ampm = m[3]?.toLowerCase();
  if (ampm) {
    if (hour < 1 || hour > 12) return undefined;
    hour = (hour % 12) + (ampm === 'pm' ? 12 : 0);
  }
  if (hour > 23 || minute > 59) return undefined;
  return nextWallClock(hour, minute, m[4]?.trim(), now);
}

/**
 * The first instant after `now` at which the wall clock of `timeZone` (IANA name; the host's
 * zone when absent or unknown) shows hour:minute.
 */
export function nextWallClock(hour: number, minute: number, timeZone: string | undefined, now: number): number {
  const fmt = timeZone ? formatterFor(timeZone) : null;
  if (!fmt) {
    const d = new Date(now);
    d.setHours(hour, minute, 0, 0);
    if (d.getTime() <= now) d.setDate(d.getDate() + 1);
    return d.getTime();
  }
  const today = wallParts(fmt, now);
  for (let addDays = 0; addDays <= 2; addDays++) {
    const wall = Date.UTC(today.year, today.month - 1, today.day + addDays, hour, minute);
    // The zone's offset at the answer can differ from its offset now (a DST change in between):
    // estimate with the offset now, then correct with the offset at the estimate.
    let t = wall - offset(fmt, now);
    t = wall - offset(fmt, t);
    if (t > now) return t;
  }
  return now + 24 * 3600_000; // unreachable for valid input; a safe upper bound
}

function formatterFor(timeZone: string): Intl.DateTimeFormat | null {
  try {
    return new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    return null; // not a time zone this runtime knows
  }
}

function wallParts(fmt: Intl.DateTimeFormat, at: number): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts: Record<string, number> = {};
  for (const p of fmt.formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return {
    year: parts.year ?? 1970,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** The zone's offset from UTC at `at`, in ms (wall clock minus UTC). */
function offset(fmt: Intl.DateTimeFormat, at: number): number {
  const w = wallParts(fmt, at);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(at / 1000) * 1000;
}
