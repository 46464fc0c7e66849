/**
 * Reads newline-delimited JSON (one object per line) from a byte stream, as Ollama streams its
 * answers. A line is only parsed once its newline arrived, so an object split over network
 * chunks is read whole; a final line without a newline is parsed at the end of the stream.
 */

/** A line that is not JSON, or a line longer than the reader accepts. */
export class NdjsonError extends Error {
  constructor(
    message: string,
    readonly line: string,
  ) {
    super(message);
    this.name = 'NdjsonError';
  }
}

/** Options of {@link readNdjson}. */
export interface NdjsonOptions {
  /** Longest line accepted, in UTF-16 units; guards memory against a server that never ends a line. @defaultValue 16777216 */
  maxLineChars: number;
}

export const NDJSON_DEFAULTS: Readonly<NdjsonOptions> = Object.freeze({ maxLineChars: 16 * 1024 * 1024 });

export async function* readNdjson(
  body: AsyncIterable<Uint8Array>,
  opts: Partial<NdjsonOptions> = {},
): AsyncGenerator<unknown> {
  const { maxLineChars } = { ...NDJSON_DEFAULTS, ...opts };
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const value = parseLine(line);
      if (value !== undefined) yield value;
    }
    if (pending.length > maxLineChars) throw new NdjsonError(`line longer than ${maxLineChars} characters`, pending.slice(0, 200));
  }
  pending += decoder.decode();
  const last = parseLine(pending);
  if (last !== undefined) yield last;
}

function parseLine(line: string): unknown {
  const trimmed = line.trim();
  if (trimmed === '') return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    throw new NdjsonError('a streamed line is not JSON', trimmed.slice(0, 200));
  }
}
