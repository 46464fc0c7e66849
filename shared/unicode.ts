/**
 * Strings that are not well-formed Unicode (UTF-16 with a lone surrogate, which JSON allows as
 * `"\ud800"`) do not map one-to-one to bytes: LevelDB keys are UTF-8, and every lone surrogate
 * becomes the same U+FFFD there, so `"k\ud800"` and `"k\udbff"` would be one idempotency key.
 * Such strings are refused at every edge that parses JSON, before anything else looks at them.
 *
 * A lone surrogate can only come from a `\uD8xx`–`\uDFxx` escape in the JSON text (bytes that are
 * not UTF-8 decode to U+FFFD, which is well-formed), so the text is checked first with one regex
 * and the parsed value walked only when the text has such an escape: free for ordinary frames.
 */
import { SwitchyardError } from './errors.js';

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

// ES2024 string methods (Node 20 has them; the ES2023 lib we compile against does not declare them).
type WellFormedString = string & { isWellFormed(): boolean; toWellFormed(): string };
export const wellFormed = (s: string): boolean => (s as WellFormedString).isWellFormed();
const printable = (s: string): string => (s as WellFormedString).toWellFormed();

/** True when JSON text may decode to a string with a lone surrogate (it has a surrogate escape). */
export function mayHoldLoneSurrogate(json: string): boolean {
  return json.includes('\\u') && SURROGATE_ESCAPE.test(json);
}

/** The JSON pointer of the first string or object key in `value` that is not well-formed, or null. */
export function findIllFormed(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return wellFormed(value) ? null : path || '/';
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findIllFormed(value[i], `${path}/${i}`);
      if (found !== null) return found;
    }
    return null;
  }
  for (const [key, v] of Object.entries(value)) {
    if (!wellFormed(key)) return `${path}/${printable(key)}`;
    const found = findIllFormed(v, `${path}/${key}`);
    if (found !== null) return found;
  }
  return null;
}

/** Throws VALIDATION_FAILED naming the field when `value` holds a string that is not well-formed. */
export function assertWellFormed(value: unknown, what: string): void {
  const at = findIllFormed(value);
  if (at !== null) {
    throw new SwitchyardError('VALIDATION_FAILED', `${what} is invalid: ${at} is not valid Unicode (it holds a lone surrogate)`, {
      errors: [{ path: at, message: 'not valid Unicode' }],
    });
  }
}
