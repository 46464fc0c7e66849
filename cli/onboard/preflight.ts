/**
 * Onboarding's step 1: what this host needs (Node.js, git, disk, a reachable hub that speaks our
 * protocol, a usable join token, reachable repos) and what it can run (Ollama, Claude Code, gh,
 * GPUs). Each finding is printed as it is made and says what it means for routing and how to
 * fix it. A missing requirement fails the step before anything is registered; a missing
 * executor only narrows what the hub will route here.
 *
 * The probes are the ones the sidecar itself relies on: Ollama's /api/tags and a real generation
 * (OllamaExecutor.health), `claude --version` and `claude auth status`, `gh auth status`,
 * `nvidia-smi --query-gpu` (readHostResources).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SwitchyardError } from '../../shared/errors.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { executorBaseEnv, gitEnv } from '../../sidecar/child-env.js';
import { parseAuthStatus } from '../../sidecar/executors/claude.js';
import { OllamaExecutor } from '../../sidecar/executors/ollama.js';
import { readHostResources } from '../../sidecar/resources.js';
import type { HostHubClient, JoinCheck } from './hub-api.js';
import type { Finding, HostPlan, RepoSpec } from './state.js';

export interface PreflightOptions {
  /** The sidecar's data folder (disk space is measured there). */
  home: string;
  hub: HostHubClient;
  /** Needed until the agent is registered. */
  joinToken: string | null;
  exchangeKey: string | null;
  /** Names whose availability the hub is asked about. */
  candidateNames: string[];
  repos: RepoSpec[];
  ollamaUrl: string;
  claudeBinary: string;
  /** @defaultValue 'gh' */
  gh?: string;
  /** @defaultValue 'nvidia-smi' */
  nvidiaSmi?: string;
  /** @defaultValue 'git' */
  git?: string;
  /** Below this, preflight fails. @defaultValue 1024 */
  minFreeDiskMb?: number;
  /** Below this, a warning. @defaultValue 5120 */
  lowFreeDiskMb?: number;
  /** Each finding as it is made. */
  onFinding?: (f: Finding) => void;
}

export interface PreflightResult {
  findings: Finding[];
  plan: HostPlan;
  join: JoinCheck | null;
}

interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The program could not be started (ENOENT: not installed). */
  missing: boolean;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<Exec> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), missing: (err as NodeJS.ErrnoException | null)?.code === 'ENOENT' });
    });
  });
}

const firstLine = (s: string) => s.trim().split('\n')[0]?.trim() ?? '';

/** Node.js 20.19+ (the engines range of package.json), or any 22+. */
export function nodeSupported(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major > 20 || (major === 20 && minor >= 19);
}

export async function preflight(o: PreflightOptions): Promise<PreflightResult> {
  const findings: Finding[] = [];
  const note = (check: string, level: Finding['level'], message: string) => {
    const f = { check, level, message };
    findings.push(f);
    o.onFinding?.(f);
  };
  const problems: string[] = [];
  const require = (check: string, ok: boolean, good: string, bad: string) => {
    note(check, ok ? 'ok' : 'fail', ok ? good : bad);
    if (!ok) problems.push(bad);
  };

  // --- what onboarding needs
  require('node', nodeSupported(process.versions.node), `Node.js ${process.versions.node}`, `Node.js ${process.versions.node} is too old: Switchyard needs 20.19 or newer (22 LTS recommended); install it (nvm install 22) and run the command again`);
  const git = o.git ?? 'git';
  const gitV = await run(git, ['--version'], gitEnv());
  require('git', gitV.code === 0, firstLine(gitV.stdout), gitV.missing ? 'git is not installed: the sidecar works in git worktrees; install git (apt install git / brew install git)' : `git --version failed: ${firstLine(gitV.stderr)}`);

  let probe = o.home;
  while (!existsSync(probe) && dirname(probe) !== probe) probe = dirname(probe);
  const fs = await statfs(probe);
  const freeMb = Math.floor((fs.bavail * fs.bsize) / (1024 * 1024));
  const minMb = o.minFreeDiskMb ?? 1024;
  const lowMb = o.lowFreeDiskMb ?? 5120;
  const disk = `${(freeMb / 1024).toFixed(1)} GiB free at ${probe}`;
  if (freeMb < minMb) require('disk', false, '', `only ${disk}: clones and worktrees need at least ${minMb} MiB; free some space or pass --data on a larger disk`);
  else note('disk', freeMb < lowMb ? 'warn' : 'ok', freeMb < lowMb ? `${disk}: enough to start, but clones and worktrees of large repos need more` : disk);

  // --- the hub: reachable, a hub, our protocol, the join token usable
  const health = await o.hub.health();
  let join: JoinCheck | null = null;
  if (o.joinToken) {
    join = await o.hub.check(o.joinToken, o.candidateNames, o.exchangeKey ?? undefined);
    if (join.protocol !== PROTOCOL_VERSION) {
      note('hub', 'fail', `the hub at ${o.hub.base} speaks protocol ${join.protocol}, this host's switchyard speaks ${PROTOCOL_VERSION}`);
      throw new SwitchyardError('ONBOARD_PREFLIGHT_FAILED', `the hub speaks protocol ${join.protocol} and this host's switchyard ${PROTOCOL_VERSION}: install the hub's version here (npm install switchyard@<the hub's version>) and run the command again`);
    }
    const who = join.join.name ? `for agent ${join.join.name}` : 'for any name';
    const caps = join.join.capabilities.length ? `, capabilities ${join.join.capabilities.join(', ')}` : '';
    note('hub', 'ok', `hub ${o.hub.base} is ${health.status}, protocol ${join.protocol}; join token ${join.join.id} ${who}${caps}, valid until ${new Date(join.join.expires_at).toISOString()}`);
  } else {
    note('hub', 'ok', `hub ${o.hub.base} is ${health.status}`);
  }

  // --- what this host can run
  const executors: HostPlan['executors'] = ['shell'];
  let models: string[] = [];
  const ollama = new OllamaExecutor({ baseUrl: o.ollamaUrl });
  const tags = await ollama.describe();
  if (!tags.available) {
    const why = (/not reachable \((.*)\): start/.exec(tags.detail ?? '')?.[1] ?? tags.detail ?? 'no answer').replace(/^Ollama at \S+ (is )?/, '');
    note('ollama', 'warn', `no Ollama at ${o.ollamaUrl} (${why}): ollama tasks will not be routed here; to offer them, install Ollama (https://ollama.com), run \`ollama serve\` and \`ollama pull qwen2.5-coder:7b\`, then \`switchyard onboard --redetect\` (or pass --ollama-url if it listens elsewhere)`);
  } else if (tags.models.length === 0) {
    executors.push('ollama');
    note('ollama', 'warn', `Ollama at ${o.ollamaUrl} has no model: tasks naming a model will not be routed here; \`ollama pull qwen2.5-coder:7b\`, then \`switchyard agent recheck <name>\``);
  } else {
    executors.push('ollama');
    models = tags.models;
    const h = await ollama.health(models[0]);
    if (h.ok) note('ollama', 'ok', `Ollama at ${o.ollamaUrl}: ${models.length} model(s) (${models.join(', ')}); ${h.model} generated a reply in ${(h.wall_ms / 1000).toFixed(1)} s: ollama tasks for these models can be routed here`);
    else note('ollama', 'warn', `Ollama at ${o.ollamaUrl} lists ${models.join(', ')} but cannot generate with ${h.model} (${h.detail}): the sidecar will mark ollama unavailable and the hub routes around it; fix Ollama (its log: journalctl -u ollama), then \`switchyard agent recheck <name>\``);
  }

  const claudeEnv = executorBaseEnv('claude');
  const claudeV = await run(o.claudeBinary, ['--version'], claudeEnv);
  if (claudeV.missing) {
    note('claude', 'warn', `Claude Code not found (${o.claudeBinary}): claude tasks will not be routed here; to offer them, \`npm install -g @anthropic-ai/claude-code\`, log in, then \`switchyard onboard --redetect\``);
  } else if (claudeV.code !== 0) {
    note('claude', 'warn', `\`${o.claudeBinary} --version\` failed (${firstLine(claudeV.stderr || claudeV.stdout)}): claude tasks will not be routed here; reinstall Claude Code, then \`switchyard onboard --redetect\``);
  } else {
    executors.push('claude');
    const version = firstLine(claudeV.stdout);
    const auth = parseAuthStatus((await run(o.claudeBinary, ['auth', 'status'], claudeEnv)).stdout);
    if (auth && !auth.loggedIn) {
      note('claude', 'warn', `Claude Code ${version} is installed but not logged in: the sidecar offers claude as unavailable and the hub routes claude tasks elsewhere; log in as this user (run \`claude\`, then /login) or give the sidecar ANTHROPIC_API_KEY, then \`switchyard agent recheck <name>\``);
    } else {
      note('claude', 'ok', `Claude Code ${version}, ${auth ? `logged in (${auth.authMethod ?? 'unknown method'})` : 'login not checked (no auth status in this version)'}: claude tasks can be routed here`);
    }
  }

  const gh = o.gh ?? 'gh';
  const ghV = await run(gh, ['--version'], gitEnv());
  if (ghV.missing) {
    note('gh', 'warn', 'gh (GitHub CLI) not found: passing work is pushed as a branch, no pull request is opened; install it (https://cli.github.com) and run `gh auth login` to get PRs');
  } else {
    const st = await run(gh, ['auth', 'status'], gitEnv());
    if (st.code === 0) note('gh', 'ok', `${firstLine(ghV.stdout)}, logged in: passing work is opened as a pull request`);
    else note('gh', 'warn', `${firstLine(ghV.stdout)} is not logged in (${firstLine(st.stderr || st.stdout)}): passing work is pushed as a branch without a PR; run \`gh auth login\` as this user`);
  }

  const resources = await readHostResources(o.nvidiaSmi ? { nvidiaSmi: o.nvidiaSmi } : {});
  if (resources.gpus.length > 0) {
    const list = resources.gpus.map((g) => `${g.name} ${Math.round(g.vram_total_mb / 1024)} GiB`).join(', ');
    note('gpu', 'ok', `${resources.gpus.length} GPU(s): ${list}: capability gpu offered, tasks that require gpu can be routed here`);
  } else {
    note('gpu', 'warn', `no GPU (${resources.gpu_note ?? 'none listed'}): tasks that require gpu will not be routed here; on a GPU host, install the NVIDIA driver so nvidia-smi works, then \`switchyard onboard --redetect\``);
  }

  // --- the repos: reachable now, before anything is registered
  const repoProblems: string[] = [];
  for (const r of o.repos) {
    if (r.path !== undefined) {
      const p = await run(git, ['-C', r.path, 'rev-parse', '--is-inside-work-tree'], gitEnv());
      if (p.code === 0) note('repo', 'ok', `repo ${r.name}: the checkout ${r.path}`);
      else repoProblems.push(`repo ${r.name}: ${r.path} is not a git checkout (${firstLine(p.stderr)}); pass --repo ${r.name}=<clone URL or path of a checkout>`);
    } else {
      const p = await run(git, ['ls-remote', r.url!, 'HEAD'], { ...gitEnv(), GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never' }, 60_000);
      if (p.code === 0) note('repo', 'ok', `repo ${r.name}: ${r.url} is reachable`);
      else repoProblems.push(`repo ${r.name}: cannot reach ${r.url} (${firstLine(p.stderr) || `git ls-remote exited ${p.code}`}); check the URL and this host's git credentials (ssh key or credential helper), then run the command again`);
    }
  }
  for (const p of repoProblems) note('repo', 'fail', p);

  if (problems.length > 0) throw new SwitchyardError('ONBOARD_PREFLIGHT_FAILED', `this host cannot be onboarded yet: ${problems.join('; ')}`);
  if (repoProblems.length > 0) throw new SwitchyardError('ONBOARD_REPO_UNREACHABLE', repoProblems.join('; '));

  const capabilities = [...new Set([...(join?.join.capabilities ?? []), ...(resources.gpus.length > 0 ? ['gpu'] : [])])];
  return {
    findings,
    plan: { executors, ollama_url: o.ollamaUrl, ollama_models: models, claude_binary: o.claudeBinary, gpus: resources.gpus.length, capabilities },
    join,
  };
}
