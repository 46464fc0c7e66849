/**
 * The wire client for Ollama's HTTP API, with plain fetch and nothing else: the streamed chat
 * (`POST /api/chat`, NDJSON), one-shot generation (`POST /api/generate`), the installed models
 * (`GET /api/tags`) and the loaded ones (`GET /api/ps`). It knows the API's shapes and its ways
 * to fail, and nothing about tasks or tools; every failure is an {@link OllamaApiError} with a
 * `kind` the executor turns into a failure code.
 */
import { NdjsonError, readNdjson } from './ndjson.js';

// ---- API shapes (only the fields Switchyard reads or sends) ----

export interface OllamaToolCall {
  function: {
    name: string;
    /** An object per the API; some models send a JSON string instead, which callers must accept. */
    arguments: Record<string, unknown> | string;
  };
}

export interface OllamaMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  tool_calls?: OllamaToolCall[];
  /** On a `tool` message: the tool whose result this is. */
  tool_name?: string;
}

export interface OllamaTool {
  type: 'function';
  function: {
    name: string;
    description: string;
    parameters: { type: 'object'; properties: Record<string, unknown>; required: string[] };
  };
}

export interface OllamaChatRequest {
  model: string;
  messages: OllamaMessage[];
  tools?: OllamaTool[];
  stream: true;
  options?: Record<string, unknown>;
  keep_alive?: string | number;
}

/** One streamed line of /api/chat. Counts appear on the final (`done: true`) line only. */
export interface OllamaChatChunk {
  model?: string;
  created_at?: string;
  message?: { role?: string; content?: string; tool_calls?: OllamaToolCall[] };
  done: boolean;
  done_reason?: string;
  total_duration?: number;
  load_duration?: number;
  prompt_eval_count?: number;
  prompt_eval_duration?: number;
  eval_count?: number;
  eval_duration?: number;
}

export interface OllamaModelDetails {
  format?: string;
  family?: string;
  parameter_size?: string;
  quantization_level?: string;
}

export interface OllamaTagModel {
  name: string;
  model?: string;
  modified_at?: string;
  size?: number;
  digest?: string;
  details?: OllamaModelDetails;
}

export interface OllamaPsModel {
  name: string;
  model?: string;
  size?: number;
  digest?: string;
  details?: OllamaModelDetails;
  expires_at?: string;
  size_vram?: number;
}

export interface OllamaGenerateResponse {
  model?: string;
  response: string;
  done: boolean;
  prompt_eval_count?: number;
  eval_count?: number;
}

// ---- errors ----

/**
 * - `unreachable`: no answer from the server (refused, reset, DNS).
 * - `http`: the server answered with an error status (`status`, and Ollama's `error` text).
 * - `protocol`: the answer is not what the API promises (bad JSON, an `error` line mid-stream).
 * - `timeout`: no data for the idle or call timeout.
 * - `aborted`: the caller's signal fired.
 */
export type OllamaErrorKind = 'unreachable' | 'http' | 'protocol' | 'timeout' | 'aborted';

export class OllamaApiError extends Error {
  constructor(
    readonly kind: OllamaErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'OllamaApiError';
  }
}

// ---- client ----

/** Options of an {@link OllamaClient}. */
export interface OllamaClientOptions {
  /** The server. @defaultValue 'http://127.0.0.1:11434' */
  baseUrl: string;
  /** Limit of a non-streamed call (/api/tags, /api/ps). @defaultValue 10000 */
  apiTimeoutMs: number;
  /**
   * Longest wait for the next streamed line, the first one included, which waits for the model
   * to load: large models on slow disks take minutes. @defaultValue 300000
   */
  idleTimeoutMs: number;
}

export const OLLAMA_CLIENT_DEFAULTS: Readonly<OllamaClientOptions> = Object.freeze({
  baseUrl: 'http://127.0.0.1:11434',
  apiTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
});

export class OllamaClient {
  readonly opts: OllamaClientOptions;

  constructor(opts: Partial<OllamaClientOptions> = {}) {
    this.opts = { ...OLLAMA_CLIENT_DEFAULTS, ...opts };
    this.opts.baseUrl = this.opts.baseUrl.replace(/\/+$/, '');
  }

  /** Installed models (`GET /api/tags`). */
  async tags(signal?: AbortSignal): Promise<OllamaTagModel[]> {
    const body = await this.getJson('/api/tags', signal);
    return modelList(body, '/api/tags') as OllamaTagModel[];
  }

  /** Models loaded in memory now, with their VRAM (`GET /api/ps`). */
  async ps(signal?: AbortSignal): Promise<OllamaPsModel[]> {
    const body = await this.getJson('/api/ps', signal);
    return modelList(body, '/api/ps') as OllamaPsModel[];
  }

  /** One non-streamed generation (`POST /api/generate`, `stream: false`). */
  async generate(
    body: { model: string; prompt: string; options?: Record<string, unknown>; keep_alive?: string | number },
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<OllamaGenerateResponse> {
    const res = await this.call('/api/generate', { method: 'POST', body: { ...body, stream: false } }, timeoutMs, signal);
    const json = await readJson(res, '/api/generate');
    if (!isObject(json) || typeof json.response !== 'string') {
      throw new OllamaApiError('protocol', '/api/generate answered without a response text');
    }
    return json as unknown as OllamaGenerateResponse;
  }

  /**
   * Streams `POST /api/chat`. Yields every line; ends after the `done: true` line, or throws
   * `protocol` when the stream ends without one. Breaking out of the loop closes the request.
   */
  async *chat(body: OllamaChatRequest, signal?: AbortSignal): AsyncGenerator<OllamaChatChunk> {
    const ac = new AbortController();
    let idleFired = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        idleFired = true;
        ac.abort();
      }, this.opts.idleTimeoutMs);
    };
    const onAbort = (): void => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) ac.abort();
    arm();
    try {
      const res = await this.fetchOrThrow('/api/chat', { method: 'POST', body }, ac.signal);
      if (!res.body) throw new OllamaApiError('protocol', '/api/chat answered without a body');
      for await (const line of readNdjson(res.body as AsyncIterable<Uint8Array>)) {
        arm();
        if (!isObject(line)) throw new OllamaApiError('protocol', '/api/chat streamed a line that is not an object');
        // Ollama reports failures after the headers (e.g. the model ran out of memory) as a line
        // {"error": "..."} in the stream.
        if (typeof line.error === 'string') throw new OllamaApiError('protocol', `Ollama: ${line.error}`);
        yield line as unknown as OllamaChatChunk;
        if (line.done === true) return;
      }
      throw new OllamaApiError('protocol', '/api/chat stream ended before its done line');
    } catch (err) {
      throw this.classify(err, idleFired, signal, `no data from Ollama for ${this.opts.idleTimeoutMs} ms`);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      ac.abort(); // closes the connection if the consumer stopped early
    }
  }

  private async getJson(path: string, signal?: AbortSignal): Promise<unknown> {
    const res = await this.call(path, { method: 'GET' }, this.opts.apiTimeoutMs, signal);
    return readJson(res, path);
  }

  /** A request bounded by `timeoutMs` (headers and body both) and the caller's signal. */
  private async call(
    path: string,
    init: { method: string; body?: unknown },
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Response> {
    const ac = new AbortController();
    let fired = false;
    const timer = setTimeout(() => {
      fired = true;
      ac.abort();
    }, timeoutMs);
    const onAbort = (): void => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) ac.abort();
    try {
      const res = await this.fetchOrThrow(path, init, ac.signal);
      // Read the body inside the limit too; hand back a Response whose body is already here.
      const text = await res.text();
      return new Response(text, { status: res.status, headers: res.headers });
    } catch (err) {
      throw this.classify(err, fired, signal, `${path} did not answer within ${timeoutMs} ms`);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** fetch, and an `http` error for a non-2xx answer, carrying Ollama's `{error}` text. */
  private async fetchOrThrow(path: string, init: { method: string; body?: unknown }, signal: AbortSignal): Promise<Response> {
    const res = await fetch(this.opts.baseUrl + path, {
      method: init.method,
      headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
      body: init.body === undefined ? null : JSON.stringify(init.body),
      signal,
    });
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      let reason = text.slice(0, 500);
      try {
        const j = JSON.parse(text) as unknown;
        if (isObject(j) && typeof j.error === 'string') reason = j.error;
      } catch {
        // Not JSON: keep the text itself.
      }
      throw new OllamaApiError('http', `${path} answered ${res.status}: ${reason || res.statusText}`, res.status);
    }
    return res;
  }

  private classify(err: unknown, timedOut: boolean, signal: AbortSignal | undefined, timeoutMessage: string): OllamaApiError {
    if (timedOut) return new OllamaApiError('timeout', timeoutMessage);
    if (signal?.aborted) return new OllamaApiError('aborted', 'the request was cancelled');
    if (err instanceof OllamaApiError) return err;
    if (err instanceof NdjsonError) return new OllamaApiError('protocol', `${err.message}: ${err.line}`);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    return new OllamaApiError('unreachable', `Ollama at ${this.opts.baseUrl} is unreachable: ${why}`);
  }
}

async function readJson(res: Response, path: string): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new OllamaApiError('protocol', `${path} answered with something that is not JSON`);
  }
}

function modelList(body: unknown, path: string): Array<{ name: string }> {
  if (!isObject(body) || !Array.isArray(body.models)) throw new OllamaApiError('protocol', `${path} answered without a models list`);
  return body.models.filter((m): m is { name: string } => isObject(m) && typeof m.name === 'string');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
