/**
 * Turns a validated TaskSpec into a Task record with every default filled in, and resolves the
 * dependencies of a batch (refs to ids, cycle check). Pure functions: no I/O.
 */
import { SwitchyardError } from '../../shared/errors.js';
import { ROUTE_CAPABILITY_PREFIX } from '../../shared/routing.js';
import { LIMITS, TaskSpec, type Task } from '../../shared/task.js';
import { assertWellFormed } from '../../shared/unicode.js';
import { assertValid } from '../../shared/validate.js';
import { inferComplexity } from './complexity.js';
import { workflowFields } from '../workflow/record.js';

export interface TaskDefaults {
  /** @defaultValue 3 */
  maxAttempts: number;
  /** @defaultValue { start_ms: 60_000, lease_ms: 60_000, overall_ms: 3_600_000 } */
  timeouts: Task['timeouts'];
  /** Rejections (and lease expiries in a row) that open a task's circuit breaker (docs/workflow.md). @defaultValue 3 */
  breakerMax?: number;
}

export const DEFAULT_TASK_DEFAULTS: TaskDefaults = {
  maxAttempts: 3,
  timeouts: { start_ms: 60_000, lease_ms: 60_000, overall_ms: 3_600_000 },
};

/** Longest metadata key (the schema says so, but a TypeBox Record does not enforce it). */
const METADATA_KEY_CHARS = 128;

/** Schema check plus the limits a schema cannot say (metadata key length and size). */
export function validateSpec(value: unknown, where = 'task'): TaskSpec {
  const spec = assertValid(TaskSpec, value, where);
  if (spec.metadata !== undefined) {
    // The schema's key length is not enforced by a TypeBox Record (it becomes patternProperties).
    const longKey = Object.keys(spec.metadata).find((k) => k.length > METADATA_KEY_CHARS);
    if (longKey !== undefined) {
      throw new SwitchyardError(
        'VALIDATION_FAILED',
        `${where} is invalid: /metadata has a key of ${longKey.length} chars, more than ${METADATA_KEY_CHARS}`,
      );
    }
    let json: string;
    try {
      json = JSON.stringify(spec.metadata);
    } catch {
      // Only a caller inside the process can pass this (a cycle, a BigInt); JSON bodies cannot.
      throw new SwitchyardError('VALIDATION_FAILED', `${where} is invalid: /metadata is not serialisable as JSON`);
    }
    const bytes = Buffer.byteLength(json);
    if (bytes > LIMITS.metadataBytes) {
      throw new SwitchyardError(
        'VALIDATION_FAILED',
        `${where} is invalid: /metadata is ${bytes} bytes, more than ${LIMITS.metadataBytes}`,
      );
    }
  }
  // `route:` capabilities are the router's (docs/routing.md): one written by hand would pass for a routed stage.
  const routeCap = spec.capabilities?.find((c) => c.startsWith(ROUTE_CAPABILITY_PREFIX));
  if (routeCap !== undefined) {
    throw new SwitchyardError('VALIDATION_FAILED', `${where} is invalid: /capabilities: '${routeCap}' — capabilities starting with '${ROUTE_CAPABILITY_PREFIX}' are set by the router, not by a task`);
  }
  if (spec.executor === 'shell' && !spec.command) {
    throw new SwitchyardError('VALIDATION_FAILED', `${where} is invalid: a shell task needs a command`);
  }
  // Its strings become storage keys (the idempotency key) and must map one-to-one to bytes.
  // (After the metadata check, which refuses cycles a walk would not end on.)
  assertWellFormed(spec, where);
  return spec;
}

/**
 * The limit the schema cannot say because it depends on the clock: `run_at` at most
 * LIMITS.runAtHorizonMs ahead. A time in microseconds or nanoseconds (a unit mistake) is refused
 * here rather than parking the task for millennia.
 */
export function checkRunAt(spec: TaskSpec, now: number, where = 'task'): void {
  if (spec.run_at === undefined || spec.run_at <= now + LIMITS.runAtHorizonMs) return;
  const years = Math.round((spec.run_at - now) / (365.25 * 86_400_000));
  throw new SwitchyardError(
    'VALIDATION_FAILED',
    `${where} is invalid: /run_at is ${years} years ahead, more than the ${Math.round(LIMITS.runAtHorizonMs / (365.25 * 86_400_000))} allowed; give milliseconds since the epoch`,
    { errors: [{ path: '/run_at', message: 'too far ahead' }] },
  );
}

/** The record of a new task; status and queue fields are set by the store. */
export function newTaskRecord(
  spec: TaskSpec,
  id: string,
  dependsOn: string[],
  actor: string,
  now: number,
  defaults: TaskDefaults,
): Task {
  const { complexity, reason } = inferComplexity(spec);
  return {
    id,
    title: spec.title,
    description: spec.description ?? '',
    context: spec.context ?? {},
    success_criteria: spec.success_criteria ?? [],
    verification: spec.verification ?? [],
    complexity,
    complexity_reason: reason,
    capabilities: [...(spec.capabilities ?? [])].sort(),
    repo: spec.repo ?? null,
    ...(spec.repo_reason !== undefined ? { repo_reason: spec.repo_reason } : {}),
    lane: spec.lane ?? 'normal',
    depends_on: dependsOn,
    idempotency_key: spec.idempotency_key ?? null,
    max_attempts: spec.max_attempts ?? defaults.maxAttempts,
    timeouts: { ...defaults.timeouts, ...spec.timeouts },
    run_at: spec.run_at ?? null,
    review: spec.review ?? false,
    executor: spec.executor ?? null,
    command: spec.command ?? null,
    model: spec.model ?? null,
    ...(spec.env !== undefined ? { env: spec.env } : {}),
    agent: spec.agent ?? null,
    delegate: spec.agent ?? null,
    dependant_count: 0,
    event_ids: [],
    created_by: spec.created_by ?? actor,
    metadata: spec.metadata ?? {},
    status: 'pending',
    generation: 0,
    attempts: 0,
    lease: null,
    created_at: now,
    updated_at: now,
    queued_at: null,
    next_run_at: null,
    last_error: null,
    result: null,
    ...workflowFields(spec, complexity),
  };
}

export interface PlannedTask {
  spec: TaskSpec;
  /** Index of the spec in the submitted batch. */
  index: number;
  /** Dependencies: ids of existing tasks, or `{ ref }` of another task of this batch. */
  deps: Array<{ id: string } | { ref: string }>;
}

/**
 * Orders a batch so that every task comes after the batch tasks it depends on. A dependency that
 * names a ref of the batch points at that task; any other name is an existing task's id.
 * Throws DEPENDENCY_CYCLE (naming the cycle) or VALIDATION_FAILED (duplicate refs).
 */
export function planBatch(specs: TaskSpec[]): PlannedTask[] {
  const byRef = new Map<string, number>();
  specs.forEach((spec, i) => {
    if (spec.ref === undefined) return;
    if (byRef.has(spec.ref)) {
      throw new SwitchyardError('VALIDATION_FAILED', `tasks[${i}] is invalid: ref '${spec.ref}' is used twice in the batch`);
    }
    byRef.set(spec.ref, i);
  });
  const planned: PlannedTask[] = specs.map((spec, index) => ({
    spec,
    index,
    deps: (spec.depends_on ?? []).map((name) => (byRef.has(name) ? { ref: name } : { id: name })),
  }));

  // Depth-first topological sort; a grey node met again closes a cycle.
  const order: PlannedTask[] = [];
  const colour = new Array<0 | 1 | 2>(specs.length).fill(0);
  const path: number[] = [];
  const visit = (i: number): void => {
    if (colour[i] === 2) return;
    if (colour[i] === 1) {
      const cycle = [...path.slice(path.indexOf(i)), i].map((j) => specs[j]!.ref ?? `#${j}`);
      throw new SwitchyardError('DEPENDENCY_CYCLE', `dependency cycle: ${cycle.join(' -> ')}`, { cycle });
    }
    colour[i] = 1;
    path.push(i);
    for (const dep of planned[i]!.deps) if ('ref' in dep) visit(byRef.get(dep.ref)!);
    path.pop();
    colour[i] = 2;
    order.push(planned[i]!);
  };
  for (let i = 0; i < specs.length; i++) visit(i);
  return order;
}
