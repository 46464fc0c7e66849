/**
 * The Ollama executor: an agent loop over Ollama's `/api/chat`. Each turn streams the model's
 * answer (text goes to onProgress as it arrives; the sidecar batches it), runs the tool calls
 * the model made inside the worktree, appends their results as `tool` messages and asks again,
 * until the model answers without a tool call (done) or the turn limit is reached.
 *
 * Usage is summed over the turns from each final chunk's `prompt_eval_count` and `eval_count`;
 * Ollama leaves a count out (e.g. when the prompt was cached), and a missing count is 0.
 */
import type { Executor, ExecutorFailure, ExecutorInfo, ExecutorRequest, ExecutorResult, ExecutorUsage } from './executor.js';
import type { ModelInfo } from '../../shared/protocol.js';
import type { OllamaPsModel, OllamaTagModel } from './ollama-client.js';
import { execFailure, zeroUsage } from './failures.js';
import {
  OLLAMA_CLIENT_DEFAULTS,
  OllamaApiError,
  OllamaClient,
  type OllamaClientOptions,
  type OllamaMessage,
  type OllamaToolCall,
} from './ollama-client.js';
import { TailBuffer } from './tail-buffer.js';
import { executorBaseEnv } from '../child-env.js';
import { ASK_TOOL, runTool, toolDefinitions, type WorkspaceToolsOptions } from './workspace-tools.js';

/** Options of the {@link OllamaExecutor}; the client's options (baseUrl, timeouts) included. */
export interface OllamaExecutorOptions extends OllamaClientOptions {
  /** Model used when a request names none. @defaultValue null (a request must name one) */
  model: string | null;
  /** Context window (`options.num_ctx`); Ollama's own default is too small for code. @defaultValue 16384 */
  numCtx: number;
  /** How long Ollama keeps the model loaded after a request (`keep_alive`). @defaultValue '10m' */
  keepAlive: string | number;
  /** Chat requests per run before giving up with EXEC_TURN_LIMIT. @defaultValue 24 */
  maxTurns: number;
  /** More model options (temperature, seed...), merged under num_ctx. @defaultValue {} */
  modelOptions: Record<string, unknown>;
  /** The system message that explains the job and the tools. @defaultValue DEFAULT_SYSTEM_PROMPT */
  systemPrompt: string;
  /** Limit of the health check's generation, model load included. @defaultValue 120000 */
  healthTimeoutMs: number;
  /** Tools' limits and whether run_command is offered. @defaultValue WORKSPACE_TOOLS_DEFAULTS */
  tools: Partial<WorkspaceToolsOptions>;
  /** Bytes of the run's transcript kept as the result's output. @defaultValue 16384 */
  outputTailBytes: number;
  /** Base environment of run_command; `req.env` is laid over it. @defaultValue allow-listed names only (child-env.ts) */
  env: NodeJS.ProcessEnv;
}

export const DEFAULT_SYSTEM_PROMPT = [
  'You are a software engineer working in a git worktree. Use the tools to read, search, change and test the code.',
  'Paths are relative to the worktree root; you cannot leave it. Make the change the task asks for, run the tests',
  'when there are any, and when you are done reply with a short summary of what you changed and no tool call.',
].join(' ');

export const OLLAMA_EXECUTOR_DEFAULTS: Readonly<Omit<OllamaExecutorOptions, 'env'>> = Object.freeze({
  ...OLLAMA_CLIENT_DEFAULTS,
  model: null,
  numCtx: 16_384,
  keepAlive: '10m',
  maxTurns: 24,
  modelOptions: {},
  systemPrompt: DEFAULT_SYSTEM_PROMPT,
  healthTimeoutMs: 120_000,
  tools: {},
  outputTailBytes: 16_384,
});

/** What {@link OllamaExecutor.health} found. */
export interface OllamaHealth {
  ok: boolean;
  model: string | null;
  /** Why not, when not ok; the reply's start when ok. */
  detail: string;
  wall_ms: number;
}

export class OllamaExecutor implements Executor {
  readonly name = 'ollama' as const;
  readonly opts: OllamaExecutorOptions;
  readonly client: OllamaClient;

  constructor(opts: Partial<OllamaExecutorOptions> = {}) {
    this.opts = { ...OLLAMA_EXECUTOR_DEFAULTS, env: executorBaseEnv('ollama'), ...opts };
    this.client = new OllamaClient(this.opts);
  }

  async run(req: ExecutorRequest): Promise<ExecutorResult> {
    const started = Date.now();
    const model = req.model ?? this.opts.model;
    if (!model) return early(execFailure('EXEC_BAD_REQUEST', 'no model: the request names none and none is configured'));
    if (!req.prompt) return early(execFailure('EXEC_BAD_REQUEST', 'the ollama executor needs a prompt'));

    // One signal for the whole run: the caller's cancel, or the run's own time limit.
    const limit = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      limit.abort();
    }, req.timeoutMs);
    const signal = AbortSignal.any([req.signal, limit.signal]);

    const usage: ExecutorUsage = zeroUsage(0);
    const transcript = new TailBuffer({ maxBytes: this.opts.outputTailBytes });
    const tools = [...toolDefinitions(this.opts.tools), ...(req.canAsk ? [ASK_TOOL] : [])];
    const messages: OllamaMessage[] = [
      { role: 'system', content: this.opts.systemPrompt },
      { role: 'user', content: req.prompt },
    ];
    const env = { ...this.opts.env, ...req.env };
    let turns = 0;

    const finish = (failure?: ExecutorFailure): ExecutorResult => {
      usage.wall_ms = Date.now() - started;
      const result: ExecutorResult = { ok: !failure, output: transcript.toString(), usage, turns };
      if (failure) result.failure = failure;
      return result;
    };
    const stopped = (): ExecutorFailure =>
      timedOut
        ? execFailure('EXEC_TIMEOUT', `the run timed out after ${req.timeoutMs} ms`)
        : execFailure('EXEC_CANCELLED', 'the run was cancelled');

    try {
      while (turns < this.opts.maxTurns) {
        if (signal.aborted) return finish(stopped());
        turns++;
        let content = '';
        const calls: OllamaToolCall[] = [];
        const stream = this.client.chat(
          {
            model,
            messages,
            tools,
            stream: true,
            options: { ...this.opts.modelOptions, num_ctx: this.opts.numCtx },
            keep_alive: this.opts.keepAlive,
          },
          signal,
        );
        for await (const chunk of stream) {
          const text = chunk.message?.content ?? '';
          if (text) {
            content += text;
            transcript.append(text);
            req.onProgress({ stream: 'text', data: text });
          }
          if (Array.isArray(chunk.message?.tool_calls)) calls.push(...chunk.message.tool_calls);
          if (chunk.done) {
            usage.input_tokens += count(chunk.prompt_eval_count);
            usage.output_tokens += count(chunk.eval_count);
          }
        }

        const reply: OllamaMessage = { role: 'assistant', content };
        if (calls.length > 0) reply.tool_calls = calls;
        messages.push(reply);
        if (calls.length === 0) return finish();

        if (content && !content.endsWith('\n')) transcript.append('\n');
        for (const call of calls) {
          if (signal.aborted) return finish(stopped());
          const name = typeof call.function?.name === 'string' ? call.function.name : '';
          const shown = `${name} ${abbreviate(JSON.stringify(call.function?.arguments ?? {}), 200)}`;
          req.onProgress({ stream: 'tool', data: shown });
          if (name === ASK_TOOL.function.name && req.canAsk) {
            const question = questionOf(call.function?.arguments);
            if (question) {
              transcript.append(`[asked the operator] ${question.text}\n`);
              const asked = finish();
              asked.question = question;
              return asked;
            }
            messages.push({ role: 'tool', content: "error: ask_operator needs a non-empty 'question'", tool_name: name });
            continue;
          }
          const out = await runTool(name, call.function?.arguments, { root: req.cwd, signal, env, ...(req.allowedPaths ? { allowedPaths: req.allowedPaths } : {}) }, this.opts.tools);
          transcript.append(`[tool ${shown}] ${abbreviate(out, 500)}\n`);
          messages.push({ role: 'tool', content: out, tool_name: name });
        }
      }
      return finish(execFailure('EXEC_TURN_LIMIT', `the model was still calling tools after ${this.opts.maxTurns} turns`));
    } catch (err) {
      if (signal.aborted) return finish(stopped());
      return finish(apiFailure(err, model));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Installed models (from /api/tags) and loaded ones with their VRAM (from /api/ps). `deep` also
   * proves generation works with a listed model (health()); without a model it cannot work.
   */
  async describe(options: { deep?: boolean } = {}): Promise<ExecutorInfo> {
    try {
      const tags = await this.client.tags();
      const ps = await this.client.ps().catch(() => []);
      if (options.deep) {
        if (tags.length === 0) return { name: 'ollama', available: false, models: [], detail: `Ollama at ${this.opts.baseUrl} has no model: ollama pull <model>` };
        const listed = tags.map((m) => m.name);
        const h = await this.health(this.opts.model && listed.includes(this.opts.model) ? this.opts.model : listed[0]);
        if (!h.ok) return { name: 'ollama', available: false, models: [], detail: `Ollama at ${this.opts.baseUrl} cannot generate with ${h.model}: ${h.detail}` };
      }
      return {
        name: 'ollama',
        available: true,
        models: tags.map((m) => m.name),
        // One view of what is warm: the registry's (the advert's model_info), built from both answers.
        modelInfo: modelInfoOf(tags, ps),
      };
    } catch (err) {
      return { name: 'ollama', available: false, models: [], detail: `Ollama at ${this.opts.baseUrl} is not reachable (${(err as Error).message}): start it (ollama serve) or set ollamaUrl` };
    }
  }

  /**
   * Proves that generation works, not only that the server answers: a tiny `/api/generate`
   * (a few tokens) with `model`, else the configured model, else the first installed one, must
   * return a non-empty text. This also loads the model, which is what a first task would wait for.
   */
  async health(model?: string, signal?: AbortSignal): Promise<OllamaHealth> {
    const started = Date.now();
    const result = (ok: boolean, name: string | null, detail: string): OllamaHealth => ({
      ok,
      model: name,
      detail,
      wall_ms: Date.now() - started,
    });
    let name = model ?? this.opts.model;
    try {
      if (!name) {
        const tags = await this.client.tags(signal);
        name = tags[0]?.name ?? null;
        if (!name) return result(false, null, 'no model is installed');
      }
      const res = await this.client.generate(
        { model: name, prompt: 'Reply with the single word OK.', options: { num_predict: 8 }, keep_alive: this.opts.keepAlive },
        this.opts.healthTimeoutMs,
        signal,
      );
      const text = res.response.trim();
      return text ? result(true, name, abbreviate(text, 80)) : result(false, name, 'the model returned an empty response');
    } catch (err) {
      return result(false, name, (err as Error).message);
    }
  }
}

function early(failure: ExecutorFailure): ExecutorResult {
  return { ok: false, output: '', usage: zeroUsage(0), failure, turns: 0 };
}

/** A token count as Ollama reports it; absent or malformed counts are 0. */
function count(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : 0;
}

function abbreviate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function apiFailure(err: unknown, model: string): ExecutorFailure {
  if (!(err instanceof OllamaApiError)) return execFailure('EXEC_PROTOCOL', `unexpected error: ${(err as Error).message}`);
  switch (err.kind) {
    case 'timeout':
      return execFailure('EXEC_TIMEOUT', err.message);
    case 'aborted':
      return execFailure('EXEC_CANCELLED', err.message);
    case 'unreachable':
      return execFailure('EXEC_UNAVAILABLE', `Ollama is not reachable on this host: ${err.message}. Start it (ollama serve) or set ollamaUrl.`);
    case 'http':
      // 404: the model is not pulled here (another host may have it): a fault of this host for
      // this model only. 5xx: the server is unwell (out of memory loading the model...). Other
      // 4xx: we sent something it refuses, which sending again will not change.
      if (err.status === 404) {
        return { ...execFailure('EXEC_MODEL_MISSING', `Ollama here has no model '${model}' (${err.message}): ollama pull ${model}`), model };
      }
      if ((err.status ?? 0) >= 500) return execFailure('EXEC_UNAVAILABLE', err.message);
      return execFailure('EXEC_PROTOCOL', err.message, { retryable: false });
    case 'protocol':
      return execFailure('EXEC_PROTOCOL', err.message);
  }
}

/** The ask_operator call's question, or null when it has none. */
function questionOf(raw: unknown): { text: string; options?: string[] } | null {
  let args: unknown = raw;
  if (typeof raw === 'string') {
    try {
      args = JSON.parse(raw);
    } catch {
      return null;
    }
  }
  if (typeof args !== 'object' || args === null) return null;
  const a = args as { question?: unknown; options?: unknown };
  if (typeof a.question !== 'string' || a.question.trim() === '') return null;
  const q: { text: string; options?: string[] } = { text: a.question.slice(0, 16_384) };
  if (Array.isArray(a.options)) {
    const options = a.options.filter((o): o is string => typeof o === 'string' && o !== '').slice(0, 16).map((o) => o.slice(0, 1024));
    if (options.length > 0) q.options = options;
  }
  return q;
}

/** The registry's view of each installed model: /api/tags' details, and /api/ps for the warm ones. */
export function modelInfoOf(tags: readonly OllamaTagModel[], ps: readonly OllamaPsModel[]): ModelInfo[] {
  const warm = new Map(ps.map((m) => [m.name, m]));
  return tags.slice(0, 256).map((t) => {
    const info: ModelInfo = { name: t.name.slice(0, 256), loaded: warm.has(t.name) };
    const d = t.details ?? {};
    if (d.family) info.family = d.family.slice(0, 64);
    if (d.parameter_size) info.parameter_size = d.parameter_size.slice(0, 32);
    if (d.quantization_level) info.quantization = d.quantization_level.slice(0, 32);
    if (typeof t.size === 'number' && Number.isInteger(t.size) && t.size >= 0) info.size_bytes = t.size;
    const p = warm.get(t.name);
    if (p) {
      info.vram_bytes = Math.round(count(p.size_vram));
      const at = p.expires_at ? Date.parse(p.expires_at) : NaN;
      if (Number.isFinite(at) && at > 0) info.expires_at = at;
    }
    return info;
  });
}
