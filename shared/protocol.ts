/**
 * The sidecar <-> hub WebSocket protocol. Each message type is defined once here; its JSON Schema
 * (compiled once by ajv), its TypeScript type and docs/protocol.md all follow from it.
 *
 * Frames are JSON text, one message per frame, each with a `type`. Messages that ask for an
 * answer carry an `id` chosen by the sender; the hub answers each with `ack` or `error` naming it.
 */
import { QuestionBody } from './workflow.js';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { SwitchyardError } from './errors.js';
import { leadingId } from './frame-id.js';
import { Id } from './ids.js';
import { ExecutorName, Task } from './task.js';
import { assertWellFormed, mayHoldLoneSurrogate, wellFormed } from './unicode.js';
import { compile, describeErrors } from './validate.js';
import { LIMITS } from './task.js';

export const PROTOCOL_VERSION = 1;
/** Largest frame either side accepts. */
export const MAX_FRAME_BYTES = 1_048_576;

const MsgId = Type.String({ minLength: 1, maxLength: 64 });
const Generation = Type.Integer({ minimum: 1 });
const Ms = Type.Integer({ minimum: 0 });

export const GpuInfo = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  name: Type.String({ maxLength: 256 }),
  vram_total_mb: Type.Number({ minimum: 0 }),
  vram_used_mb: Type.Number({ minimum: 0 }),
  utilization_pct: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
});
export type GpuInfo = Static<typeof GpuInfo>;

export const HostResources = Type.Object({
  cpu_count: Type.Integer({ minimum: 0 }),
  /** 1-minute load average. */
  load_1m: Type.Number({ minimum: 0 }),
  ram_total_mb: Type.Number({ minimum: 0 }),
  ram_free_mb: Type.Number({ minimum: 0 }),
  gpus: Type.Array(GpuInfo, { maxItems: 64 }),
  /** Why `gpus` is empty, when it is: e.g. 'nvidia-smi not found'. */
  gpu_note: Type.Optional(Type.String({ maxLength: 512 })),
});
export type HostResources = Static<typeof HostResources>;

/**
 * One model an executor has (the LLM registry, docs/routing.md): what it is (Ollama's
 * `/api/tags` details), and whether it is loaded now — warm — with its VRAM and when the runtime
 * unloads it if unused (`/api/ps`).
 */
export const ModelInfo = Type.Object({
  name: Type.String({ maxLength: 256 }),
  family: Type.Optional(Type.String({ maxLength: 64 })),
  /** As the runtime says it, e.g. `7.6B`. */
  parameter_size: Type.Optional(Type.String({ maxLength: 32 })),
  /** e.g. `Q4_K_M`. */
  quantization: Type.Optional(Type.String({ maxLength: 32 })),
  /** Size on disk. */
  size_bytes: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Loaded in memory now. */
  loaded: Type.Boolean(),
  /** Bytes of it in GPU memory while loaded (0: it runs on the CPU). */
  vram_bytes: Type.Optional(Type.Integer({ minimum: 0 })),
  /** When the runtime unloads it if unused (ms since epoch). */
  expires_at: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type ModelInfo = Static<typeof ModelInfo>;

export const ExecutorAdvert = Type.Object({
  name: ExecutorName,
  available: Type.Boolean(),
  /** Models it can run now (a model it lacks or failed on is in `model_faults` instead). */
  models: Type.Array(Type.String({ maxLength: 256 }), { maxItems: 256 }),
  /** Why it is not available (`available: false`), or what it is (a version). */
  reason: Type.Optional(Type.String({ maxLength: 1024 })),
  /** Since when it has been unavailable (ms since epoch). */
  since: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Until when it is unavailable, when known (a usage limit's reset). */
  until: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Models this executor cannot run now although asked for, with why (e.g. not pulled). */
  model_faults: Type.Optional(
    Type.Array(Type.Object({ name: Type.String({ maxLength: 256 }), reason: Type.String({ maxLength: 1024 }), since: Type.Integer({ minimum: 0 }) }), { maxItems: 256 }),
  ),
  /** The models it has, with what each is and whether it is warm (Ollama); absent when it does not say. */
  model_info: Type.Optional(Type.Array(ModelInfo, { maxItems: 256 })),
});
export type ExecutorAdvert = Static<typeof ExecutorAdvert>;

export const InFlight = Type.Object({
  task_id: Id,
  generation: Generation,
  /** What the sidecar is doing with it: waiting to start, running, or holding an unsent result. */
  state: Type.Union([Type.Literal('assigned'), Type.Literal('running'), Type.Literal('finished')]),
});
export type InFlight = Static<typeof InFlight>;

/**
 * The error of a task.fail. Its `details` is an object (or absent): the hub merges the run's
 * result into it, and a string there once cost the hub seconds (spread into one key per char).
 */
const TaskFailError = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 64 }),
    message: Type.String({ maxLength: 8192 }),
    retryable: Type.Boolean(),
    details: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.Unknown())),
    /** When a retry can succeed (ms since epoch), if the executor said: a usage limit's reset. */
    retry_after: Type.Optional(Type.Integer({ minimum: 0, maximum: LIMITS.maxTimeMs })),
  },
);

/**
 * A task as the hub sends it in `task.resume`: any object (the sidecar keeps what it held and
 * checks a held task's fields itself, sidecar/state-schema.ts).
 */
const TaskPayload = Type.Record(Type.String(), Type.Unknown());

/** The fields of a task a sidecar reads (sidecar/state-schema.ts checks the same ones in state.json). */
const SIDECAR_READS = ['id', 'title', 'description', 'context', 'success_criteria', 'verification', 'max_attempts', 'command', 'model', 'repo', 'executor', 'timeouts'];

/**
 * The task of a `task.assign`: the Task schema (shared/task.ts), typed as Task — the hub sends
 * the whole record — but requiring only the fields a sidecar reads. Every field present is
 * checked; one the sidecar never reads may be absent (a hub from before it existed) or new (a
 * later hub), and the sidecar still speaks protocol 1 with that hub.
 */
const { $id: _taskId, required: _all, ...taskShape } = Task;
const AssignedTask = Type.Unsafe<Task>({ ...taskShape, required: SIDECAR_READS });

// ------------------------------------------------------------------ sidecar -> hub

export const SidecarMessages = {
  hello: Type.Object(
    {
      type: Type.Literal('hello'),
      protocol: Type.Integer(),
      agent_id: Id,
      token: Type.String({ minLength: 1, maxLength: 512 }),
      capabilities: Type.Array(Id, { maxItems: 64 }),
      executors: Type.Array(ExecutorAdvert, { maxItems: 8 }),
      /** Repos this host can work on; absent or null: any. */
      repos: Type.Optional(Type.Union([Type.Array(Id, { maxItems: 256 }), Type.Null()])),
      max_concurrency: Type.Integer({ minimum: 1, maximum: 256 }),
      resources: HostResources,
      in_flight: Type.Array(InFlight, { maxItems: 256 }),
      sidecar_version: Type.Optional(Type.String({ maxLength: 64 })),
    },
    { additionalProperties: false },
  ),
  heartbeat: Type.Object(
    {
      type: Type.Literal('heartbeat'),
      resources: HostResources,
      /** Leases to renew: the tasks the sidecar is working on. */
      tasks: Type.Array(Type.Object({ task_id: Id, generation: Generation }), { maxItems: 256 }),
      executors: Type.Optional(Type.Array(ExecutorAdvert, { maxItems: 8 })),
      /** True while draining (no new work wanted). */
      draining: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  'task.accept': Type.Object(
    { type: Type.Literal('task.accept'), id: MsgId, task_id: Id, generation: Generation },
    { additionalProperties: false },
  ),
  'task.reject': Type.Object(
    {
      type: Type.Literal('task.reject'),
      id: MsgId,
      task_id: Id,
      generation: Generation,
      code: Type.String({ maxLength: 64 }),
      reason: Type.String({ maxLength: 2048 }),
    },
    { additionalProperties: false },
  ),
  'task.progress': Type.Object(
    {
      type: Type.Literal('task.progress'),
      task_id: Id,
      generation: Generation,
      /** From 1, increasing per task and generation; the hub drops repeats. */
      seq: Type.Integer({ minimum: 1 }),
      data: Type.Array(
        Type.Object({ stream: Type.String({ maxLength: 16 }), data: Type.String({ maxLength: 262_144 }) }),
        { maxItems: 256 },
      ),
    },
    { additionalProperties: false },
  ),
  'task.complete': Type.Object(
    { type: Type.Literal('task.complete'), id: MsgId, task_id: Id, generation: Generation, result: Type.Unknown() },
    { additionalProperties: false },
  ),
  'task.fail': Type.Object(
    {
      type: Type.Literal('task.fail'),
      id: MsgId,
      task_id: Id,
      generation: Generation,
      error: TaskFailError,
      result: Type.Optional(Type.Unknown()),
    },
    { additionalProperties: false },
  ),
  /**
   * The agent asks the operator a question instead of finishing (docs/workflow.md): the task goes
   * `blocked` with it, the lease ends, and the answer comes with the task's next assignment (in
   * its `clarifications`). A result like complete/fail: held and resent until answered.
   */
  'task.ask': Type.Object(
    { type: Type.Literal('task.ask'), id: MsgId, task_id: Id, generation: Generation, question: QuestionBody, result: Type.Optional(Type.Unknown()) },
    { additionalProperties: false },
  ),
  goodbye: Type.Object(
    { type: Type.Literal('goodbye'), reason: Type.String({ maxLength: 512 }) },
    { additionalProperties: false },
  ),
} as const;

// ------------------------------------------------------------------ hub -> sidecar

export const HubMessages = {
  welcome: Type.Object({
    type: Type.Literal('welcome'),
    protocol: Type.Integer(),
    agent_id: Id,
    /** Send a heartbeat at least this often; leases are renewed by it. */
    heartbeat_ms: Ms,
    /**
     * The hub pings every socket this often: a sidecar that hears nothing (no frame, no ping) for
     * three of these treats the hub as gone. Absent from hubs older than this field: assume 15000.
     */
    ping_ms: Type.Optional(Ms),
  }),
  'task.assign': Type.Object({
    type: Type.Literal('task.assign'),
    task: AssignedTask,
    generation: Generation,
    lease_expires_at: Ms,
  }),
  'task.cancel': Type.Object({ type: Type.Literal('task.cancel'), task_id: Id, generation: Generation, reason: Type.String() }),
  'task.resume': Type.Object({ type: Type.Literal('task.resume'), task_id: Id, generation: Generation, task: TaskPayload }),
  'task.drop': Type.Object({ type: Type.Literal('task.drop'), task_id: Id, generation: Generation, reason: Type.String() }),
  ack: Type.Object({ type: Type.Literal('ack'), id: MsgId }),
  /** An operator asked: recheck every executor now (deep) and advertise the result. */
  'executors.recheck': Type.Object({ type: Type.Literal('executors.recheck') }),
  error: Type.Object({
    type: Type.Literal('error'),
    id: Type.Optional(MsgId),
    code: Type.String(),
    message: Type.String(),
    retryable: Type.Boolean(),
    details: Type.Optional(Type.Unknown()),
  }),
} as const;

type StaticOf<M extends Record<string, TSchema>> = { [K in keyof M]: Static<M[K]> }[keyof M];
export type SidecarMessage = StaticOf<typeof SidecarMessages>;
export type HubMessage = StaticOf<typeof HubMessages>;
export type SidecarMessageOf<T extends SidecarMessage['type']> = Extract<SidecarMessage, { type: T }>;
export type HubMessageOf<T extends HubMessage['type']> = Extract<HubMessage, { type: T }>;

/**
 * Parses and validates one frame against a message table. Throws SwitchyardError with
 * PAYLOAD_TOO_LARGE, PROTOCOL_INVALID_JSON, PROTOCOL_UNKNOWN_TYPE or VALIDATION_FAILED.
 */
function parseWith<M extends Record<string, TSchema>>(table: M, raw: string | Buffer): StaticOf<M> {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
  if (size > MAX_FRAME_BYTES) {
    // Not parsed: its id is read from the frame's first bytes, so the refusal still names it.
    const id = leadingId(raw);
    throw new SwitchyardError('PAYLOAD_TOO_LARGE', `frame of ${size} bytes exceeds ${MAX_FRAME_BYTES}`, id !== undefined ? { id } : {});
  }
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SwitchyardError('PROTOCOL_INVALID_JSON', 'frame is not valid JSON');
  }
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof value !== 'object' || value === null || typeof type !== 'string' || !Object.hasOwn(table, type)) {
    const id = (value as { id?: unknown } | null)?.id;
    throw new SwitchyardError('PROTOCOL_UNKNOWN_TYPE', `unknown message type ${JSON.stringify(type ?? null)}`, echoable(id) ? { id } : {});
  }
  if (mayHoldLoneSurrogate(text)) {
    try {
      assertWellFormed(value, type);
    } catch (err) {
      const id = (value as { id?: unknown }).id;
      throw new SwitchyardError('VALIDATION_FAILED', (err as Error).message, echoable(id) && wellFormed(id) ? { id } : {}, { cause: err });
    }
  }
  const validate = compile(table[type]!);
  if (!validate(value)) {
    const id = (value as { id?: unknown }).id;
    throw new SwitchyardError('VALIDATION_FAILED', `${type} is invalid: ${describeErrors(validate.errors)}`, echoable(id) ? { id } : {});
  }
  return value as StaticOf<M>;
}

/** An id worth naming in an answer: a string the error frame's own schema (MsgId) accepts. */
function echoable(id: unknown): id is string {
  return typeof id === 'string' && id.length >= 1 && id.length <= 64;
}

export const parseSidecarMessage = (raw: string | Buffer): SidecarMessage => parseWith(SidecarMessages, raw);
export const parseHubMessage = (raw: string | Buffer): HubMessage => parseWith(HubMessages, raw);
