/**
 * The schema of the sidecar's state file (state.json), and the one check a loaded file passes
 * before anything in it is believed.
 *
 * How deep: a held task is checked in every field the sidecar reads (the `Pick`s of the loop, the
 * prompt, the workspace and the runner, plus `timeouts` for the heartbeat), with the types and
 * shapes `Task` promises, down to each verification step. Those are what the code dereferences,
 * so a file that passes cannot crash or wedge it later. The rest of a task is the hub's (status,
 * lease, dependants...) and passes through unchecked: the sidecar never reads it, and a hub that
 * adds or renames such a field must not make a sidecar discard its state on upgrade. The type
 * checks at the bottom keep the schema and `Task` agreeing on the fields checked.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { SidecarMessages } from '../shared/protocol.js';
import { EXECUTORS, LIMITS, TaskContext, TaskTimeouts, VerificationStep, type Task } from '../shared/task.js';
import { compile, describeErrors } from '../shared/validate.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** The fields of a task the sidecar reads. */
export const HeldTaskFields = Type.Object({
  id: Type.String({ minLength: 1, maxLength: LIMITS.idChars }),
  title: Type.String({ minLength: 1 }),
  description: Type.String(),
  context: TaskContext,
  success_criteria: Type.Array(Type.String()),
  verification: Type.Array(VerificationStep),
  max_attempts: Type.Integer({ minimum: 1 }),
  command: Nullable(Type.String()),
  model: Nullable(Type.String()),
  repo: Nullable(Type.String()),
  executor: Nullable(Type.Union(EXECUTORS.map((e) => Type.Literal(e)))),
  timeouts: Type.Required(TaskTimeouts),
});

/** One held task. */
export const HeldTaskSchema = Type.Object({
  task: HeldTaskFields,
  generation: Type.Integer({ minimum: 1 }),
  state: Type.Union([Type.Literal('assigned'), Type.Literal('running'), Type.Literal('finished')]),
  // 0 and 1 are refused outright: kill(-0) is our own group and kill(-1) every process we may signal.
  pgid: Type.Optional(Type.Integer({ minimum: 2 })),
  boot_id: Type.Optional(Type.String()),
  pgid_start_ticks: Type.Optional(Type.Integer({ minimum: 0 })),
  run_id: Type.Optional(Type.String({ pattern: '^[0-9a-f]{16}$' })),
  result: Type.Optional(Type.Union([SidecarMessages['task.complete'], SidecarMessages['task.fail'], SidecarMessages['task.ask']])),
});

export const StateFileSchema = Type.Object({
  version: Type.Literal(1),
  tasks: Type.Record(Type.String(), HeldTaskSchema),
});

/** What a valid state file holds, with each task as the whole record it was stored as. */
export interface StateFileContent<H> {
  version: 1;
  tasks: Record<string, H>;
}

/**
 * Why `value` (a parsed state file) cannot be used, or null when it can: the schema, then what a
 * schema cannot say (an entry filed under another task's id, a finished task without its result).
 */
export function stateFileProblem(value: unknown): string | null {
  const validate = compile(StateFileSchema);
  if (!validate(value)) return describeErrors(validate.errors);
  for (const [key, held] of Object.entries(value.tasks)) {
    const where = `/tasks/${key}`;
    if (held.task.id !== key) return `${where}: held under another id than its task's (${JSON.stringify(held.task.id)})`;
    if (held.state === 'finished' && !held.result) return `${where}: finished but holds no result`;
    if (held.result && (held.result.task_id !== key || held.result.generation !== held.generation)) {
      return `${where}/result: for another task or generation`;
    }
  }
  return null;
}

// Compile-time: the schema and Task agree on every field checked (both ways), so a change to one
// of those fields in shared/task.ts fails the build here until the schema follows.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Checked = Static<typeof HeldTaskFields>;
const agreesWithTask: Same<Checked, Pick<Task, keyof Checked>> = true;
void agreesWithTask;
