/**
 * Reads Claude Code's `--output-format stream-json` output: one JSON event per line. Turns the
 * events into progress (assistant text, tool uses, the session start) and keeps what the result
 * needs: the session, the final `result` event, and the assistant's text for a usage-limit check.
 *
 * Lines that are not JSON (a warning printed to stdout, say) are kept apart rather than fatal:
 * the final result decides whether the run worked.
 */
import type { ExecutorProgress } from './executor.js';
import { TailBuffer } from './tail-buffer.js';

/** The final `{"type":"result"}` event, with the fields Switchyard reads. */
export interface ClaudeResultEvent {
  type: 'result';
  subtype: string;
  is_error: boolean;
  duration_ms?: number;
  num_turns?: number;
  result?: string;
  session_id?: string;
  total_cost_usd?: number;
  /** Older Claude Code versions named the cost so. */
  cost_usd?: number;
  usage?: {
    input_tokens?: number;
    output_tokens?: number;
    cache_creation_input_tokens?: number;
    cache_read_input_tokens?: number;
  };
}

interface ContentBlock {
  type?: string;
  text?: string;
  name?: string;
  input?: unknown;
}

export class ClaudeStreamReader {
  /** Lines that were JSON events. */
  events = 0;
  sessionId: string | undefined;
  model: string | undefined;
  result: ClaudeResultEvent | undefined;
  /** The assistant's text over the run (bounded). */
  readonly text: TailBuffer;
  /** Lines of stdout that were not JSON (bounded). */
  readonly stray: TailBuffer;
  private pending = '';

  constructor(
    private readonly onProgress: (p: ExecutorProgress) => void,
    tailBytes = 16_384,
  ) {
    this.text = new TailBuffer({ maxBytes: tailBytes });
    this.stray = new TailBuffer({ maxBytes: 4_096 });
  }

  /** Feeds a piece of stdout; complete lines are handled at once. */
  push(chunk: string): void {
    this.pending += chunk;
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      this.line(line);
    }
  }

  /** Handles a last line without a newline. */
  end(): void {
    if (this.pending) this.line(this.pending);
    this.pending = '';
  }

  private line(raw: string): void {
    const line = raw.trim();
    if (!line) return;
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      this.stray.append(`${line}\n`);
      return;
    }
    if (typeof ev !== 'object' || ev === null) {
      this.stray.append(`${line}\n`);
      return;
    }
    this.events++;
    const e = ev as Record<string, unknown>;
    if (typeof e.session_id === 'string') this.sessionId = e.session_id;
    switch (e.type) {
      case 'system':
        if (e.subtype === 'init') {
          if (typeof e.model === 'string') this.model = e.model;
          this.onProgress({ stream: 'status', data: `claude session ${this.sessionId ?? '?'} started (model ${this.model ?? '?'})` });
        }
        return;
      case 'assistant':
        for (const block of contentOf(e)) {
          if (block.type === 'text' && typeof block.text === 'string' && block.text) {
            this.text.append(block.text.endsWith('\n') ? block.text : `${block.text}\n`);
            this.onProgress({ stream: 'text', data: block.text });
          } else if (block.type === 'tool_use' && typeof block.name === 'string') {
            this.onProgress({ stream: 'tool', data: `${block.name} ${abbreviate(JSON.stringify(block.input ?? {}), 200)}` });
          }
        }
        return;
      case 'result':
        this.result = {
          ...(e as object),
          subtype: typeof e.subtype === 'string' ? e.subtype : 'unknown',
          is_error: e.is_error === true,
        } as ClaudeResultEvent;
        return;
      default:
        // `user` events carry tool results back to the model; they are the model's input, not progress.
        return;
    }
  }
}

function contentOf(e: Record<string, unknown>): ContentBlock[] {
  const message = e.message as { content?: unknown } | undefined;
  return Array.isArray(message?.content) ? (message.content as ContentBlock[]) : [];
}

function abbreviate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
