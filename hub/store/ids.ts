/**
 * Monotonic ULIDs: 48 bits of milliseconds and 80 random bits in Crockford base32, so ids sort
 * by creation time. Within one millisecond (or if the clock steps back) the previous id is
 * incremented (or, if that overflows, the next millisecond is borrowed), so ids from one generator
 * always increase; `seed` continues after an existing id after a restart.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

function randomPart(random: () => number): string {
  let out = '';
  for (let i = 0; i < 16; i++) out += ALPHABET[Math.floor(random() * 32)];
  return out;
}

function decodeTime(s: string): number {
  let t = 0;
  for (const c of s) t = t * 32 + ALPHABET.indexOf(c);
  return t;
}

/** Adds one to a base32 string; carries to the left; null when it would overflow. */
function increment(s: string): string | null {
  // Only the trailing run of 'Z's carries: keep the prefix, bump one char, zero the rest.
  let i = s.length - 1;
  while (i >= 0 && s.charCodeAt(i) === 90 /* 'Z' */) i--;
  if (i < 0) return null;
  const next = ALPHABET[ALPHABET.indexOf(s[i]!) + 1]!;
  return s.slice(0, i) + next + '0'.repeat(s.length - 1 - i);
}

export type IdGenerator = (() => string) & { seed(after: string): void };

export function ulidGenerator(now: () => number, random: () => number = Math.random): IdGenerator {
  let last = '';
  const gen = (() => {
    const time = encodeTime(now());
    const lastTime = last.slice(0, 10);
    if (last !== '' && time <= lastTime) {
      // The random part ran out within one millisecond (only likely with a rigged random()):
      // borrow the next millisecond rather than fail the operation that needs an id.
      const next = increment(last.slice(10));
      last = next !== null ? lastTime + next : encodeTime(decodeTime(lastTime) + 1) + '0'.repeat(16);
    } else {
      last = time + randomPart(random);
    }
    return last;
  }) as IdGenerator;
  gen.seed = (after: string) => {
    if (after > last) last = after;
  };
  return gen;
}
