/**
 * The onboarding state file: what each step decided and which steps are done, written atomically
 * (temp file, fsync, rename; mode 0600: it holds the exchange key) after every step, so that a
 * rerun continues at the first unfinished step. A step's outcome is recorded only after its
 * effect, and every step can be done again, so dying between the two (kill -9) costs a repeat,
 * never a second agent or a second process.
 */
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { SwitchyardError } from '../../shared/errors.js';
import { compile, describeErrors } from '../../shared/validate.js';

export const STEPS = ['preflight', 'name', 'register', 'config', 'repos', 'pm2', 'verify'] as const;
export type StepName = (typeof STEPS)[number];

export const STEP_TITLES: Record<StepName, string> = {
  preflight: 'Preflight',
  name: 'Name',
  register: 'Register',
  config: 'Config',
  repos: 'Repos',
  pm2: 'pm2',
  verify: 'Verify',
};

const RepoSpec = Type.Object({ name: Type.String(), url: Type.Optional(Type.String()), path: Type.Optional(Type.String()) }, { additionalProperties: false });
export type RepoSpec = Static<typeof RepoSpec>;

const Finding = Type.Object(
  { check: Type.String(), level: Type.Union([Type.Literal('ok'), Type.Literal('warn'), Type.Literal('fail')]), message: Type.String() },
  { additionalProperties: false },
);
export type Finding = Static<typeof Finding>;

/** What preflight found that the config is made of. */
const HostPlan = Type.Object(
  {
    executors: Type.Array(Type.Union([Type.Literal('shell'), Type.Literal('ollama'), Type.Literal('claude')])),
    ollama_url: Type.String(),
    ollama_models: Type.Array(Type.String()),
    claude_binary: Type.String(),
    gpus: Type.Integer({ minimum: 0 }),
    capabilities: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);
export type HostPlan = Static<typeof HostPlan>;

const StepDone = Type.Object({ done_at: Type.Integer(), summary: Type.String() }, { additionalProperties: false });

export const OnboardStateSchema = Type.Object(
  {
    version: Type.Literal(1),
    hub: Type.String(),
    repos: Type.Array(RepoSpec),
    requested_name: Type.Union([Type.String(), Type.Null()]),
    /** The agent's name, fixed by step Name before the exchange (so a repeat names the same agent). */
    name: Type.Union([Type.String(), Type.Null()]),
    /** The secret that makes this host's join exchange repeatable by it alone. */
    exchange_key: Type.Union([Type.String(), Type.Null()]),
    join_id: Type.Union([Type.String(), Type.Null()]),
    /** Capabilities the invitation gave. */
    join_capabilities: Type.Array(Type.String()),
    findings: Type.Array(Finding),
    plan: Type.Union([HostPlan, Type.Null()]),
    steps: Type.Object(
      {
        preflight: Type.Optional(StepDone),
        name: Type.Optional(StepDone),
        register: Type.Optional(StepDone),
        config: Type.Optional(StepDone),
        repos: Type.Optional(StepDone),
        pm2: Type.Optional(StepDone),
        verify: Type.Optional(StepDone),
      },
      { additionalProperties: false },
    ),
    completed_at: Type.Union([Type.Integer(), Type.Null()]),
    verified_at: Type.Union([Type.Integer(), Type.Null()]),
    smoke_task: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);
export type OnboardState = Static<typeof OnboardStateSchema>;

export function freshState(hub: string, repos: RepoSpec[], requestedName: string | null): OnboardState {
  return {
    version: 1,
    hub,
    repos,
    requested_name: requestedName,
    name: null,
    exchange_key: null,
    join_id: null,
    join_capabilities: [],
    findings: [],
    plan: null,
    steps: {},
    completed_at: null,
    verified_at: null,
    smoke_task: null,
  };
}

/** The state in `path`; null when there is none. An unreadable or invalid file is refused, never guessed at. */
export function loadState(path: string): OnboardState | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SwitchyardError('ONBOARD_STATE_CONFLICT', `cannot read the onboarding state ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SwitchyardError('ONBOARD_STATE_CONFLICT', `the onboarding state ${path} is not JSON (${(err as Error).message}): move it aside and run switchyard teardown, then onboard again`);
  }
  const check = compile(OnboardStateSchema);
  if (!check(value)) {
    throw new SwitchyardError('ONBOARD_STATE_CONFLICT', `the onboarding state ${path} is not valid (${describeErrors(check.errors)}): move it aside and run switchyard teardown, then onboard again`);
  }
  return value;
}

export async function saveState(path: string, state: OnboardState): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`, 0o600);
}
