/**
 * The contract every executor meets (shell, Ollama, Claude). The sidecar hands an executor a
 * request for one run in a workspace; the executor streams progress, honours the AbortSignal
 * (cancel, timeout, drain) and returns its output, usage and cost. It never throws for a failed
 * run: failures come back classified in `failure`, so the build–verify–fix loop and the hub can
 * decide whether a retry can help.
 */
import type { ModelInfo } from '../../shared/protocol.js';
import type { ExecutorName } from '../../shared/task.js';

export interface ExecutorUsage {
  input_tokens: number;
  output_tokens: number;
  /** In US dollars; 0 for local executors. */
  cost_usd: number;
  wall_ms: number;
  /** Claude: prompt tokens written to the prompt cache (also counted in cost). */
  cache_creation_input_tokens?: number;
  /** Claude: prompt tokens read from the prompt cache. */
  cache_read_input_tokens?: number;
}

export interface ExecutorProgress {
  /** stdout/stderr of a process, model text, a tool call, or a status line. */
  stream: 'stdout' | 'stderr' | 'text' | 'tool' | 'status';
  data: string;
}

export interface ExecutorFailure {
  /**
   * Stable codes: EXEC_TIMEOUT, EXEC_CANCELLED, EXEC_EXIT_NONZERO, EXEC_ERROR_RESULT, EXEC_EMPTY_OUTPUT, EXEC_USAGE_LIMIT,
   * EXEC_UNAVAILABLE, EXEC_MODEL_MISSING, EXEC_TURN_LIMIT, EXEC_PROTOCOL, EXEC_BAD_REQUEST (the request lacks what this
   * executor needs). EXEC_UNAVAILABLE, EXEC_MODEL_MISSING and EXEC_USAGE_LIMIT are host faults (failures.ts).
   */
  code: string;
  message: string;
  retryable: boolean;
  /** For a usage limit: when a retry can succeed (ms since epoch), if the executor said. */
  retry_after?: number;
  /** For EXEC_MODEL_MISSING: the model this host lacks. */
  model?: string;
}

export interface ExecutorRequest {
  taskId: string;
  /** The working folder (the task's git worktree); executors never act outside it. */
  cwd: string;
  /** For model executors: the instruction. */
  prompt?: string;
  /** For the shell executor: run by `/bin/sh -c`. */
  command?: string;
  /** Model name for model executors; their configured default when absent. */
  model?: string;
  timeoutMs: number;
  signal: AbortSignal;
  onProgress: (progress: ExecutorProgress) => void;
  env?: Record<string, string>;
  /**
   * Called with the process group of a child process the executor starts, so the sidecar can
   * record it and stop an orphan after its own crash.
   */
  onSpawn?: (pgid: number) => void;
  /**
   * Repo-relative files or folders the task may change (its `allowed_paths`): a model executor's
   * write tool refuses others up front. Absent: anywhere in the worktree.
   */
  allowedPaths?: readonly string[];
  /** Offer the model a way to ask the operator a question (the Ollama loop's `ask_operator` tool). @defaultValue false */
  canAsk?: boolean;
}

export interface ExecutorResult {
  ok: boolean;
  /** The last part of the output (bounded), for reports and corrective prompts. */
  output: string;
  exit_code?: number | null;
  usage: ExecutorUsage;
  failure?: ExecutorFailure;
  /** Model executors: model turns taken (Ollama: chat requests; Claude: the result's num_turns). */
  turns?: number;
  /** Claude: the session id, so an operator can resume or inspect the session. */
  session_id?: string;
  /** The model stopped to ask the operator this (docs/workflow.md): the task goes `blocked`. */
  question?: { text: string; options?: string[] };
}

export interface ExecutorInfo {
  name: ExecutorName;
  available: boolean;
  /** Models this executor can run (Ollama: from /api/tags). */
  models: string[];
  /** What it is (a version), or, when not available, why not and what to do about it. */
  detail?: string;
  /** Each model with what it is and whether it is warm, with its VRAM and unload time (the advert's `model_info`; Ollama: /api/tags and /api/ps). */
  modelInfo?: ModelInfo[];
}

export interface Executor {
  readonly name: ExecutorName;
  run(req: ExecutorRequest): Promise<ExecutorResult>;
  /**
   * What this executor can do on this host right now (for hello/heartbeat routing). Cheap by
   * default; `deep` also proves it can work (Ollama: a real generation), for start-up and rechecks.
   */
  describe(options?: { deep?: boolean }): Promise<ExecutorInfo>;
}
