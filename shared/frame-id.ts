/**
 * The `id` of a frame that is not parsed whole (over the frame limit), read from its first bytes:
 * so that even a refused oversized message gets its answer by id. Only a key of the top-level
 * object counts (an `"id"` inside `result` is not the message's), and only within the first
 * ID_SCAN_BYTES: a sender that writes `type` and `id` first (as JSON.stringify does for an object
 * built in that order) always gets it.
 */
import { wellFormed } from './unicode.js';

/** How far into a frame the id is looked for. */
export const ID_SCAN_BYTES = 4096;
/** Longest id echoed (the protocol's MsgId). */
const MAX_ID_CHARS = 64;

/** The frame's top-level string `id`, when it is within the first ID_SCAN_BYTES; else undefined. */
export function leadingId(raw: string | Buffer): string | undefined {
  const head = typeof raw === 'string' ? raw.slice(0, ID_SCAN_BYTES) : raw.subarray(0, ID_SCAN_BYTES).toString('utf8');
  let i = skipSpace(head, 0);
  if (head[i] !== '{') return undefined;
  i++;
  for (;;) {
    i = skipSpace(head, i);
    const key = readString(head, i);
    if (!key) return undefined;
    i = skipSpace(head, key.end);
    if (head[i] !== ':') return undefined;
    i = skipSpace(head, i + 1);
    if (key.value === 'id') {
      const value = readString(head, i);
      if (!value || value.value.length < 1 || value.value.length > MAX_ID_CHARS || !wellFormed(value.value)) return undefined;
      return value.value;
    }
    const end = skipValue(head, i);
    if (end < 0) return undefined;
    i = skipSpace(head, end);
    if (head[i] !== ',') return undefined;
    i++;
  }
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\n' || s[i] === '\r' || s[i] === '\t')) i++;
  return i;
}

/** Index just past the JSON string starting at `i`, or -1 when it does not end within `s`. */
function stringEnd(s: string, i: number): number {
  if (s[i] !== '"') return -1;
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === '"') return j + 1;
  }
  return -1;
}

function readString(s: string, i: number): { value: string; end: number } | null {
  const end = stringEnd(s, i);
  if (end < 0) return null;
  try {
    return { value: JSON.parse(s.slice(i, end)) as string, end };
  } catch {
    return null;
  }
}

/** Index just past the JSON value starting at `i` (nested values skipped by depth), or -1. */
function skipValue(s: string, i: number): number {
  if (s[i] === '"') return stringEnd(s, i);
  if (s[i] === '{' || s[i] === '[') {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const c = s[j];
      if (c === '"') {
        j = stringEnd(s, j) - 1;
        if (j < 0) return -1;
      } else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  let j = i;
  while (j < s.length && !',}] \n\r\t'.includes(s[j]!)) j++;
  return j === i || j === s.length ? -1 : j;
}
