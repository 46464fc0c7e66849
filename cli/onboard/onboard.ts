/**
 * One-command onboarding of an agent host, in seven named steps:
 *
 *   1 Preflight  what the host needs and what it can run (preflight.ts)
 *   2 Name       a Culture ship name no agent of the hub has, unless --name; fixed with the
 *                exchange key before anything is registered
 *   3 Register   the join token exchanged for the agent's token, written to a 0600 file
 *   4 Config     the sidecar's config file from what preflight found, validated as the sidecar will
 *   5 Repos      each repo cloned where the sidecar looks for it, or an existing clone verified
 *   6 pm2        the sidecar as one pm2 app (restart with backoff), pm2's list saved
 *   7 Verify     the hub sees the agent online, and a smoke task delegated to it completes on it
 *
 * Each step's outcome goes into the state file (state.ts) once its effect is done; a rerun skips
 * the steps recorded and continues at the first one that is not. Every step can run twice: the
 * exchange repeats for the same agent (join-store.ts), pm2 finds its app by name, a clone is
 * verified instead of made again. After success a rerun only verifies.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { SwitchyardError } from '../../shared/errors.js';
import { gitEnv } from '../../sidecar/child-env.js';
import { loadSidecarConfig, type SidecarConfig } from '../../sidecar/config.js';
import { resolveWorkspaceOptions } from '../../sidecar/workspace/config.js';
import { Git } from '../../sidecar/workspace/git.js';
import { HostHubClient, normalizeHubUrl } from './hub-api.js';
import { defaultHome, layoutOf, pm2AppName, type Layout } from './layout.js';
import { Pm2, pm2Bin, startupHint } from './pm2.js';
import { preflight } from './preflight.js';
import { pickName, SHIP_SLUGS } from './ship-names.js';
import { freshState, loadState, saveState, STEP_TITLES, STEPS, type Finding, type OnboardState, type RepoSpec, type StepName } from './state.js';

export interface OnboardOptions {
  home: string;
  hub?: string;
  join?: string;
  repos?: RepoSpec[];
  name?: string;
  /** More capabilities than the invitation's and preflight's. */
  capabilities?: string[];
  concurrency?: number;
  ollamaUrl: string;
  claudeBinary: string;
  gh?: string;
  nvidiaSmi?: string;
  /** Run preflight, config, pm2 and verify again (after installing Ollama, say). */
  redetect?: boolean;
  /** How long Verify waits for the agent to come online, and then for the smoke task. @defaultValue 120000 */
  verifyTimeoutMs?: number;
  out: (text: string) => void;
  /**
   * Test hook (SWITCHYARD_ONBOARD_KILL_AFTER): kill -9 this process once this step's effect is
   * done and before its outcome is recorded, the worst moment to die.
   */
  killAfter?: StepName;
}

/** The compiled CLI that pm2 runs (`switchyard sidecar --config FILE`). */
const CLI = fileURLToPath(new URL('../switchyard.js', import.meta.url));

const MARK: Record<Finding['level'], string> = { ok: '✓', warn: '!', fail: '✗' };

/** `name=url` or `name=/path/of/a/checkout` (a folder with a .git) as given to --repo. */
export function parseRepo(arg: string): RepoSpec {
  const eq = arg.indexOf('=');
  const name = eq > 0 ? arg.slice(0, eq) : '';
  const where = eq > 0 ? arg.slice(eq + 1) : '';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) || !where) {
    throw new SwitchyardError('VALIDATION_FAILED', `--repo '${arg}' must be name=url (name: letters, digits, . _ -), e.g. --repo api=git@github.com:acme/api.git`);
  }
  return where.startsWith('/') && existsSync(join(where, '.git')) ? { name, path: where } : { name, url: where };
}

const sameRepos = (a: RepoSpec[], b: RepoSpec[]) => JSON.stringify(a.map((r) => [r.name, r.url ?? r.path])) === JSON.stringify(b.map((r) => [r.name, r.url ?? r.path]));

export async function onboard(o: OnboardOptions): Promise<OnboardState> {
  const L = layoutOf(o.home);
  let state = loadState(L.state);
  if (!state) {
    if (!o.hub) throw new SwitchyardError('VALIDATION_FAILED', 'switchyard onboard needs --hub URL and --join TOKEN: run the command that switchyard agent invite printed on the hub');
    state = freshState(normalizeHubUrl(o.hub), o.repos ?? [], o.name ?? null);
  } else {
    const where = `${L.home} holds the onboarding of ${state.name ?? 'an agent'} at ${state.hub}`;
    const fix = 'to onboard another agent on this host pass --data DIR; to redo this one, run switchyard teardown first';
    if (o.hub && normalizeHubUrl(o.hub) !== state.hub) throw new SwitchyardError('ONBOARD_STATE_CONFLICT', `${where}, not ${normalizeHubUrl(o.hub)}: ${fix}`);
    if (o.repos && o.repos.length > 0 && !sameRepos(o.repos, state.repos)) throw new SwitchyardError('ONBOARD_STATE_CONFLICT', `${where} with other repos (${state.repos.map((r) => r.name).join(', ') || 'none'}): ${fix}`);
    const fixed = state.name ?? state.requested_name;
    if (o.name && fixed && o.name !== fixed) throw new SwitchyardError('ONBOARD_STATE_CONFLICT', `${where} as ${fixed}, not ${o.name}: ${fix}`);
  }
  const hub = new HostHubClient(state.hub);
  if (o.redetect) {
    for (const s of ['preflight', 'config', 'pm2', 'verify'] as const) delete state.steps[s];
    await saveState(L.state, state);
  }
  if (state.completed_at !== null && !o.redetect) {
    o.out(`${state.name} was onboarded at ${new Date(state.completed_at).toISOString()}; verifying it again\n`);
    delete state.steps.verify;
  }

  const ctx: StepContext = { o, L, hub, state };
  for (const [i, step] of STEPS.entries()) {
    const head = `[${i + 1}/${STEPS.length}] ${STEP_TITLES[step]}`;
    const done = state.steps[step];
    if (done) {
      o.out(`${head}: done ${new Date(done.done_at).toISOString()} (${done.summary})\n`);
      continue;
    }
    o.out(`${head}\n`);
    let summary: string;
    try {
      summary = await RUN[step](ctx);
    } catch (err) {
      // The message itself (what to do) follows on stderr.
      o.out(`      ✗ ${STEP_TITLES[step]} failed${err instanceof SwitchyardError ? `: ${err.code}` : ''}\n`);
      throw err;
    }
    if (o.killAfter === step) process.kill(process.pid, 'SIGKILL');
    state.steps[step] = { done_at: Date.now(), summary };
    if (step === 'verify') {
      state.verified_at = Date.now();
      state.completed_at ??= state.verified_at;
    }
    await saveState(L.state, state);
    o.out(`      → ${summary}\n`);
  }
  const name = state.name!;
  o.out(
    `\nOnboarded ${name}: online at ${state.hub}, its sidecar under pm2 as ${pm2AppName(name)}.\n` +
      `  status:   switchyard status${dataFlag(o.home)}\n` +
      `  logs:     ${L.logs}\n` +
      `  at boot:  ${startupHint(pm2Bin())}   (pm2 startup; needs root, so it is not run for you)\n` +
      `  remove:   switchyard teardown${dataFlag(o.home)}\n`,
  );
  return state;
}

/** ` --data DIR` when the folder is not the default one (for the hints printed). */
function dataFlag(home: string): string {
  return home === defaultHome() ? '' : ` --data ${home}`;
}

interface StepContext {
  o: OnboardOptions;
  L: Layout;
  hub: HostHubClient;
  state: OnboardState;
}

const RUN: Record<StepName, (c: StepContext) => Promise<string>> = {
  preflight: stepPreflight,
  name: stepName,
  register: stepRegister,
  config: stepConfig,
  repos: stepRepos,
  pm2: stepPm2,
  verify: stepVerify,
};

function needJoin(c: StepContext): string {
  if (!c.o.join) throw new SwitchyardError('VALIDATION_FAILED', `this host is not registered yet: pass --join TOKEN again (the join token from switchyard agent invite)`);
  return c.o.join;
}

const candidates = (c: StepContext) => [...new Set([...(c.state.name ? [c.state.name] : []), ...(c.o.name ? [c.o.name] : []), ...SHIP_SLUGS, ...SHIP_SLUGS.map((s) => `${s.slice(0, 60)}-2`)])];

async function stepPreflight(c: StepContext): Promise<string> {
  const registered = c.state.steps.register !== undefined;
  const res = await preflight({
    home: c.L.home,
    hub: c.hub,
    joinToken: registered ? null : needJoin(c),
    exchangeKey: c.state.exchange_key,
    candidateNames: candidates(c),
    repos: c.state.repos,
    ollamaUrl: c.o.ollamaUrl,
    claudeBinary: c.o.claudeBinary,
    ...(c.o.gh ? { gh: c.o.gh } : {}),
    ...(c.o.nvidiaSmi ? { nvidiaSmi: c.o.nvidiaSmi } : {}),
    onFinding: (f) => c.o.out(`      ${MARK[f.level]} ${f.check}: ${f.message}\n`),
  });
  c.state.findings = res.findings;
  c.state.plan = { ...res.plan, capabilities: [...new Set([...res.plan.capabilities, ...(c.o.capabilities ?? []), ...c.state.join_capabilities])] };
  if (res.join) {
    c.state.join_id = res.join.join.id;
    c.state.join_capabilities = res.join.join.capabilities;
    if (res.join.join.name) {
      if (c.o.name && c.o.name !== res.join.join.name) {
        throw new SwitchyardError('VALIDATION_FAILED', `the invitation is for an agent named ${res.join.join.name}, not ${c.o.name}: leave out --name, or ask the admin for an invitation without a name`);
      }
      c.state.requested_name ??= res.join.join.name;
    }
    const wanted = c.state.name ?? c.state.requested_name;
    if (wanted && res.join.taken.includes(wanted)) {
      throw new SwitchyardError('AGENT_EXISTS', `an agent named ${wanted} is already registered at ${c.state.hub}: pick another with --name, or leave --name out to get a free name`);
    }
  }
  const p = c.state.plan;
  const exec = p.executors.map((e) => (e === 'ollama' && p.ollama_models.length ? `ollama (${p.ollama_models.length} models)` : e)).join(', ');
  return `executors ${exec}${p.capabilities.length ? `; capabilities ${p.capabilities.join(', ')}` : ''}`;
}

async function stepName(c: StepContext): Promise<string> {
  let name = c.state.name ?? c.state.requested_name;
  if (!name) {
    const check = await c.hub.check(needJoin(c), candidates(c), c.state.exchange_key ?? undefined);
    name = pickName(new Set(check.taken));
  }
  c.state.name = name;
  // Chosen once and kept: a repeated exchange must present the same one.
  c.state.exchange_key ??= randomBytes(32).toString('base64url');
  return `${name}${c.state.requested_name ? '' : ' (a Culture ship no agent of the hub has)'}`;
}

async function stepRegister(c: StepContext): Promise<string> {
  const joinToken = needJoin(c);
  let res;
  for (let tries = 0; ; tries++) {
    try {
      res = await c.hub.join(joinToken, c.state.name!, c.state.exchange_key!, `onboarded from ${hostname()}`);
      break;
    } catch (err) {
      // Another host took the picked name between the check and the exchange: pick again.
      if (err instanceof SwitchyardError && err.code === 'AGENT_EXISTS' && !c.state.requested_name && tries < 3) {
        const check = await c.hub.check(joinToken, candidates(c), c.state.exchange_key!);
        c.state.name = pickName(new Set(check.taken));
        await saveState(c.L.state, c.state);
        c.o.out(`      ! the name was taken meanwhile; now ${c.state.name}\n`);
        continue;
      }
      throw err;
    }
  }
  c.state.join_capabilities = res.capabilities;
  if (c.o.killAfter === 'register') process.kill(process.pid, 'SIGKILL'); // registered, token not yet stored
  // The token goes to a file only its owner can read: never printed, never in argv or pm2's environment.
  await writeFileAtomic(c.L.token, `${res.token}\n`, 0o600);
  return `registered ${res.agent.id}${res.repeat ? ' (exchange repeated after an interruption: same agent, new token)' : ''}; token in ${c.L.token} (mode 0600)`;
}

function sidecarConfig(c: StepContext): Partial<SidecarConfig> {
  const p = c.state.plan!;
  return {
    hubUrl: c.state.hub,
    agentId: c.state.name!,
    tokenFile: c.L.token,
    dataDir: c.L.home,
    executors: p.executors,
    ollamaUrl: p.ollama_url,
    claudeBinary: p.claude_binary,
    capabilities: [...new Set([...p.capabilities, ...c.state.join_capabilities])].sort(),
    maxConcurrency: c.o.concurrency ?? 1,
    repos: c.state.repos.map((r) => (r.path !== undefined ? { name: r.name, path: r.path } : { name: r.name, url: r.url! })),
  };
}

async function stepConfig(c: StepContext): Promise<string> {
  const cfg = sidecarConfig(c);
  // Validated the way the sidecar will read it, before the sidecar ever does.
  resolveWorkspaceOptions({ repos: cfg.repos ?? [], worktreesRoot: join(c.L.home, 'worktrees'), cacheDir: c.L.repos });
  await writeFileAtomic(c.L.config, `${JSON.stringify(cfg, null, 2)}\n`, 0o600);
  loadSidecarConfig({ configFile: c.L.config }, {});
  return `${c.L.config}: executors ${cfg.executors!.join(', ')}; capabilities ${cfg.capabilities!.join(', ') || 'none'}; repos ${cfg.repos!.map((r) => r.name).join(', ') || 'none'}`;
}

async function stepRepos(c: StepContext): Promise<string> {
  const git = new Git({ bin: 'git', env: gitEnv(), timeoutMs: 60_000 });
  const lines: string[] = [];
  for (const r of c.state.repos) {
    if (r.path !== undefined) {
      const ok = await git.try(['rev-parse', '--is-inside-work-tree'], { cwd: r.path });
      if (!ok.ok) throw new SwitchyardError('ONBOARD_REPO_UNREACHABLE', `repo ${r.name}: ${r.path} is not a git checkout any more: restore it, or pass another --repo ${r.name}=…`);
      lines.push(`${r.name}: uses the checkout ${r.path}`);
      continue;
    }
    const dir = join(c.L.repos, r.name);
    if (existsSync(join(dir, '.git'))) {
      const origin = await git.try(['remote', 'get-url', 'origin'], { cwd: dir });
      if (origin.stdout.trim() !== r.url) {
        throw new SwitchyardError('ONBOARD_REPO_UNREACHABLE', `repo ${r.name}: ${dir} is a clone of ${origin.stdout.trim() || 'something else'}, not ${r.url}: remove it (rm -rf ${dir}) and run the command again`);
      }
      const fetched = await git.try(['fetch', '-q', 'origin'], { cwd: dir, timeoutMs: 300_000 });
      if (!fetched.ok) throw new SwitchyardError('ONBOARD_REPO_UNREACHABLE', `repo ${r.name}: fetching ${r.url} failed: ${fetched.output.trim().slice(-300)}`);
      lines.push(`${r.name}: the clone ${dir} is there and fetches`);
    } else {
      // As the sidecar clones: a home for worktrees, never checked out itself.
      await rm(dir, { recursive: true, force: true });
      const cloned = await git.try(['clone', '-q', '--no-checkout', '--origin', 'origin', r.url!, dir], { cwd: c.L.home, timeoutMs: 600_000 });
      if (!cloned.ok) throw new SwitchyardError('ONBOARD_REPO_UNREACHABLE', `repo ${r.name}: cloning ${r.url} failed: ${cloned.output.trim().slice(-300)}`);
      lines.push(`${r.name}: cloned ${r.url} into ${dir}`);
    }
    c.o.out(`      ✓ ${lines[lines.length - 1]}\n`);
  }
  return lines.length ? `${lines.length} repo(s) ready` : 'no repos (tasks without a repo only; add them with --repo name=url)';
}

async function stepPm2(c: StepContext): Promise<string> {
  const name = pm2AppName(c.state.name!);
  const pm2 = await Pm2.connect();
  try {
    const restored = await pm2.restoreSaved();
    if (restored > 0) c.o.out(`      ✓ pm2 was not running: restored its ${restored} saved app(s) first, so that saving keeps them\n`);
    const existing = await pm2.describe(name);
    if (existing) {
      // Started by an interrupted earlier run, or --redetect: replaced rather than restarted, since
      // a pm2 restart keeps the old environment (PATH without a newly installed CLI, say). Deleting
      // stops it first (it drains), so there is never a second process.
      await pm2.delete(name);
    }
    await pm2.start({
      name,
      script: CLI,
      args: ['sidecar', '--config', c.L.config],
      cwd: c.L.home,
      interpreter: process.execPath,
      outFile: c.L.outLog,
      errorFile: c.L.errLog,
      killTimeoutMs: 40_000,
    });
    c.o.out(existing ? `      ✓ pm2 app ${name} existed: replaced, with the current config and environment\n` : `      ✓ pm2 started ${name}\n`);
    if (c.o.killAfter === 'pm2') process.kill(process.pid, 'SIGKILL'); // started, list not yet saved
    await pm2.save();
    const p = await pm2.describe(name);
    if (!p) throw new SwitchyardError('ONBOARD_SERVICE_FAILED', `pm2 does not list ${name} after starting it: see ${c.L.errLog}`);
    return `${name} ${p.status} (pid ${p.pid}), pm2 list saved; at boot: run \`${startupHint(pm2Bin())}\` once`;
  } finally {
    pm2.close();
  }
}

/** The last lines of the sidecar's logs, for a failure message. */
function logTail(L: Layout, lines = 15): string {
  const parts: string[] = [];
  for (const f of [L.errLog, L.outLog]) {
    if (!existsSync(f)) continue;
    const text = readFileSync(f, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    if (text) parts.push(`--- ${f}\n${text}`);
  }
  return parts.length ? `\n${parts.join('\n')}` : '';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stepVerify(c: StepContext): Promise<string> {
  const name = c.state.name!;
  const token = readFileSync(c.L.token, 'utf8').trim();
  const timeoutMs = c.o.verifyTimeoutMs ?? 120_000;
  const started = Date.now();
  const pm2 = await Pm2.connect();
  let app;
  try {
    // Re-verifying after a reboot without `pm2 startup`: bring the saved sidecar back first.
    if ((await pm2.restoreSaved()) > 0) c.o.out('      ✓ pm2 was not running: restored its saved apps\n');
    app = await pm2.describe(pm2AppName(name));
  } finally {
    pm2.close();
  }
  if (!app) throw new SwitchyardError('ONBOARD_VERIFY_FAILED', `pm2 has no app ${pm2AppName(name)}: run switchyard onboard --redetect to start it again`);

  let self = await c.hub.self(token);
  while (self.state === 'offline') {
    if (Date.now() - started > timeoutMs) {
      throw new SwitchyardError('ONBOARD_VERIFY_FAILED', `the hub has not seen ${name} online after ${Math.round(timeoutMs / 1000)} s (pm2: ${app.status}): read the sidecar's log, fix the cause, and run the command again${logTail(c.L)}`);
    }
    await sleep(300);
    self = await c.hub.self(token);
  }
  const execs = (self.executors ?? []).map((e) => `${e.name}${e.available ? '' : ' (unavailable)'}`).join(', ');
  c.o.out(`      ✓ ${name} is online (${self.state}); executors ${execs || 'none'}\n`);

  const smoke = await c.hub.smoke(token);
  c.state.smoke_task = smoke.id;
  c.o.out(`      … smoke task ${smoke.id} queued, delegated to ${name} only\n`);
  const smokeStarted = Date.now();
  for (;;) {
    const { task, events } = await c.hub.task(token, smoke.id);
    if (task.status === 'completed') {
      const done = events.find((e) => e.to === 'completed');
      if (done?.actor !== `agent:${name}`) throw new SwitchyardError('ONBOARD_VERIFY_FAILED', `the smoke task was completed by ${done?.actor ?? 'someone else'}, not by ${name}`);
      const out = String((task.result as { output_tail?: string } | null)?.output_tail ?? '').trim().split('\n')[0] ?? '';
      return `smoke task ${task.id} completed on ${name} in ${((Date.now() - smokeStarted) / 1000).toFixed(1)} s: "${out}"`;
    }
    // Its delegation ended (this agent refused it): another agent could take it, which proves nothing.
    const elsewhere = task.delegate === null && task.lease?.agent_id !== name;
    const final = task.status === 'dead_letter' || task.status === 'cancelled';
    if (final || elsewhere || Date.now() - smokeStarted > timeoutMs) {
      if (!final) await c.hub.cancelSmoke(token, task.id).catch(() => undefined);
      const why = task.last_error ? `${task.last_error.code}: ${task.last_error.message}` : final ? task.status : elsewhere ? `${name} gave it back` : `still ${task.status} after ${Math.round(timeoutMs / 1000)} s`;
      throw new SwitchyardError('ONBOARD_VERIFY_FAILED', `the smoke task ${task.id} did not complete on ${name} (${why}): read the sidecar's log, fix the cause, and run the command again${logTail(c.L)}`);
    }
    await sleep(250);
  }
}
