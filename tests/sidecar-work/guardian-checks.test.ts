/**
 * The guardians' mechanical checks, run by the sidecar on a real git change: the secret scan,
 * npm audit's report (printed by a repo audit command in npm's own v2 format, since a test may
 * not reach the registry), the tests, newly exported names against the docs, and axe-core on a
 * changed page in Debian's Chromium. Then the loop: a failing check rejects without a model run,
 * and a guardian's workspace is the implementation's commit.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OllamaExecutor } from '../../sidecar/executors/ollama.js';
import { addedLines } from '../../sidecar/guardian/diff.js';
import { forcedVerdict, runGuardianChecks, type GuardianCheckContext } from '../../sidecar/guardian/checks.js';
import { readAudit } from '../../sidecar/guardian/npm-audit.js';
import { coverageIn, evidenceOf } from '../../sidecar/loop/evidence.js';
import { runBuildVerifyFix } from '../../sidecar/loop/build-verify-fix.js';
import { loopWorkspace } from '../../sidecar/loop/workspace-adapter.js';
import { WorkspaceManager } from '../../sidecar/workspace/workspace-manager.js';
import { makeTask } from '../fixtures/calc-repo.js';
import { startFakeOllama, type FakeOllama } from '../fixtures/fake-ollama.js';
import { git, GIT_ENV, initRepo, remoteAndClone, writeFiles } from './git-helpers.js';
import { tempDir } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir('sy-guardian-'));
});
afterEach(async () => cleanup());

/** A repo whose main holds `base`, and a HEAD commit on a branch adding `change`; returns the context. */
async function changeOf(base: Record<string, string>, change: Record<string, string>, over: Partial<GuardianCheckContext> = {}, name = 'repo'): Promise<GuardianCheckContext> {
  const dir = join(root, name);
  await initRepo(dir, base);
  const diffBase = await git(dir, 'rev-parse', 'HEAD');
  await git(dir, 'checkout', '-q', '-b', 'work');
  await writeFiles(dir, change);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'the change');
  return { cwd: dir, diffBase, testCommand: null, auditCommand: null, env: GIT_ENV, ...over };
}

/** npm audit --json's report (auditReportVersion 2), as npm 10 prints it for one vulnerable package. */
const AUDIT_V2 = {
  auditReportVersion: 2,
  vulnerabilities: {
    'left-pad': {
      name: 'left-pad',
      severity: 'high',
      isDirect: true,
      via: [{ source: 1099, name: 'left-pad', dependency: 'left-pad', title: 'Prototype pollution in left-pad', url: 'https://github.com/advisories/GHSA-xxxx', severity: 'high', cwe: ['CWE-1321'], cvss: { score: 7.5 }, range: '<1.3.1' }],
      effects: [],
      range: '<1.3.1',
      nodes: ['node_modules/left-pad'],
      fixAvailable: { name: 'left-pad', version: '1.3.1', isSemVerMajor: false },
    },
    wrapper: { name: 'wrapper', severity: 'low', isDirect: false, via: ['left-pad'], effects: [], range: '*', nodes: ['node_modules/wrapper'], fixAvailable: false },
  },
  metadata: { vulnerabilities: { info: 0, low: 1, moderate: 0, high: 1, critical: 0, total: 2 }, dependencies: { prod: 3, dev: 0, optional: 0, peer: 0, peerOptional: 0, total: 3 } },
};

describe('the change a guardian checks', () => {
  it('reads added lines with their file and new line number from a unified diff', () => {
    const patch = ['diff --git a/a.ts b/a.ts', '--- a/a.ts', '+++ b/a.ts', '@@ -3,0 +4,2 @@', '+one', '+two', '@@ -10 +12 @@', '-old', '+new', 'diff --git a/gone b/gone', '--- a/gone', '+++ /dev/null', '@@ -1 +0,0 @@', '-x'].join('\n');
    expect(addedLines(patch)).toEqual([
      { file: 'a.ts', line: 4, text: 'one' },
      { file: 'a.ts', line: 5, text: 'two' },
      { file: 'a.ts', line: 12, text: 'new' },
    ]);
  });
});

describe('security: secret scan and npm audit', () => {
  it('finds keys and a dotenv file in the change, never repeating the secret, and rejects', async () => {
    const key = 'AKIA' + 'ABCDEFGHIJKLMNOP';
    const ctx = await changeOf({ 'README.md': '# r\n' }, { 'src/config.js': `export const region = 'eu';\nconst awsKey = '${key}';\n`, '.env': 'X=1\n', 'docs/.env.example': 'X=\n' });
    const checks = await runGuardianChecks('security', ctx);
    const scan = checks.find((c) => c.name === 'secret_scan')!;
    expect(scan).toMatchObject({ ran: true, passed: false });
    expect(scan.findings).toEqual([
      { message: 'a dotenv file is committed: remove it and add it to .gitignore', file: '.env', severity: 'critical' },
      expect.objectContaining({ file: 'src/config.js', line: 2, severity: 'critical', message: expect.stringMatching(/^AWS access key id added \(AKIAAB…\)/) }),
    ]);
    expect(JSON.stringify(checks)).not.toContain(key);
    // No package-lock.json and no audit command: the audit says it did not run, and is not a pass in disguise.
    expect(checks.find((c) => c.name === 'npm_audit')).toMatchObject({ ran: false, summary: 'no package-lock.json and no audit_command for this repo' });
    expect(forcedVerdict(checks)).toMatchObject({ verdict: 'REJECT', findings: scan.findings });
  });

  it('passes a clean change, and reads the audit command’s npm report: a high advisory rejects', async () => {
    await writeFile(join(root, 'audit.json'), JSON.stringify(AUDIT_V2));
    const ctx = await changeOf({ 'README.md': '# r\n' }, { 'src/a.js': 'export const a = 1;\n' }, { auditCommand: `cat '${join(root, 'audit.json')}'; exit 1` });
    const checks = await runGuardianChecks('security', ctx);
    expect(checks.find((c) => c.name === 'secret_scan')).toMatchObject({ ran: true, passed: true, findings: [] });
    const audit = checks.find((c) => c.name === 'npm_audit')!;
    expect(audit).toMatchObject({ ran: true, passed: false });
    expect(audit.summary).toContain('1 low, 1 high');
    expect(audit.findings.map((f) => [f.severity, f.message])).toEqual([
      ['high', 'left-pad <1.3.1: Prototype pollution in left-pad; a fix is available (npm audit fix)'],
      ['low', 'wrapper *: depends on a vulnerable package (left-pad); no fix available yet'],
    ]);
  });

  it('reads npm 6 reports and says when the audit could not run', () => {
    expect(readAudit(JSON.stringify({ advisories: { 1: { module_name: 'lodash', title: 'Prototype Pollution', severity: 'critical', url: 'https://npmjs.com/advisories/1' } }, metadata: { vulnerabilities: { critical: 1 } } }))).toEqual({
      ok: true,
      counts: { critical: 1 },
      findings: [{ message: 'lodash: Prototype Pollution (https://npmjs.com/advisories/1)', file: 'package-lock.json', severity: 'critical' }],
    });
    expect(readAudit(JSON.stringify({ error: { code: 'ENOTFOUND', summary: 'request to https://registry.npmjs.org failed' } }))).toEqual({ ok: false, reason: 'the audit could not run: ENOTFOUND: request to https://registry.npmjs.org failed' });
    expect(readAudit('npm ERR! something')).toMatchObject({ ok: false });
  });
});

describe('qa and docs', () => {
  it('qa runs the repo’s tests: failing tests reject with their output', async () => {
    const ctx = await changeOf({ 'test.mjs': 'process.exit(0)\n' }, { 'test.mjs': "console.error('expected 5, got 6'); process.exit(1)\n" }, { testCommand: 'node test.mjs' });
    const [tests] = await runGuardianChecks('qa', ctx);
    expect(tests).toMatchObject({ name: 'tests', ran: true, passed: false, summary: '`node test.mjs` failed (exit 1)' });
    expect(tests!.findings[0]!.message).toContain('expected 5, got 6');
    const [none] = await runGuardianChecks('qa', { ...ctx, testCommand: null });
    expect(none).toMatchObject({ ran: false, passed: true });
    expect(forcedVerdict([none!])).toBeNull();
  });

  it('docs: a newly exported name the docs never mention is a finding; documented or doc-commented ones are not', async () => {
    const ctx = await changeOf(
      { 'README.md': '# lib\n\n`sum(a, b)` adds.\n' },
      {
        'src/math.ts': 'export function sum(a: number, b: number) { return a + b; }\nexport const product = (a: number, b: number) => a * b;\n/** Halves. */\nexport function half(n: number) { return n / 2; }\nexport { product as times };\n',
        'tests/math.test.ts': 'export const helper = 1;\n',
      },
    );
    const [docs] = await runGuardianChecks('docs', ctx);
    expect(docs).toMatchObject({ name: 'public_docs', ran: true, passed: false });
    expect(docs!.findings).toEqual([
      { message: '`product` is newly exported but neither the docs nor a doc comment describe it', file: 'src/math.ts', line: 2, severity: 'medium' },
      { message: '`times` is newly exported but neither the docs nor a doc comment describe it', file: 'src/math.ts', line: 5, severity: 'medium' },
    ]);
  });

  it('without the implementation’s commit there is no change, and each check says so', async () => {
    const checks = await runGuardianChecks('docs', { cwd: root, diffBase: null, testCommand: null, auditCommand: null, env: GIT_ENV });
    expect(checks).toEqual([expect.objectContaining({ name: 'public_docs', ran: false, passed: true, summary: expect.stringContaining('not on this host') })]);
  });
});

describe('ux: axe-core in Chromium', () => {
  it('a changed page with an unlabelled input and an image without alt is rejected; a clean page passes', async () => {
    const bad = '<!doctype html><html lang="en"><head><title>Form</title></head><body><main><h1>Sign up</h1><img src="logo.png"><input type="text"></main></body></html>';
    const good = '<!doctype html><html lang="en"><head><title>Form</title></head><body><main><h1>Sign up</h1><img src="logo.png" alt="Acme"><label>Name <input type="text"></label></main></body></html>';
    const ctx = await changeOf({ 'README.md': '# site\n' }, { 'site/signup.html': bad, 'site/ok.html': good, 'src/x.js': 'let a = 1;\n' });
    const [axe] = await runGuardianChecks('ux', ctx);
    expect(axe, axe?.summary).toMatchObject({ name: 'axe', ran: true, passed: false });
    const rules = axe!.findings.map((f) => [f.file, f.message.split(':')[0]]);
    expect(rules).toEqual(expect.arrayContaining([['site/signup.html', 'image-alt'], ['site/signup.html', 'label']]));
    expect(rules.filter(([file]) => file === 'site/ok.html')).toEqual([]);
    // A change without pages: nothing to scan, said so.
    const [none] = await runGuardianChecks('ux', await changeOf({ 'README.md': '# r\n' }, { 'a.js': 'let a;\n' }, {}, 'no-pages'));
    expect(none).toMatchObject({ ran: false, summary: 'the change touches no HTML page' });
  }, 60_000);
});

describe('evidence from a run', () => {
  it('carries the test command and result, the commit, branch and files, and coverage the runner printed', () => {
    const report = { passed: true, duration_ms: 5, checks: [{ type: 'test_passes' as const, passed: true, duration_ms: 5, output_tail: 'ok\n----------|---------|----------|---------|---------|\nFile      | % Stmts | % Branch | % Funcs | % Lines |\nAll files |   90.5  |    80    |   100   |   92.25 |\n', target: 'npm test', exit_code: 0 }] };
    const submission = { branch: 'task/01J-x', commit: 'abcdef0123456789', changed: true, files_changed: ['a.js'], pushed: true, pr_url: null, url: null };
    expect(evidenceOf(report, submission)).toEqual({ test_command: 'npm test', test_result: 'passed', test_output: report.checks[0]!.output_tail, coverage: 92.25, commit: 'abcdef0123456789', branch: 'task/01J-x', files_changed: ['a.js'] });
    expect(evidenceOf(null, null)).toEqual({ test_result: 'not_run' });
    expect(coverageIn('Statements   : 80% ( 8/10 )\nLines        : 85.71% ( 6/7 )')).toBe(85.71);
    expect(coverageIn('Name    Stmts   Miss  Cover\nTOTAL      20      2    90%')).toBe(90);
    expect(coverageIn('3 tests passed')).toBeNull();
  });
});

describe('the loop runs a guardian on the implementation', () => {
  let fake: FakeOllama;
  beforeEach(async () => {
    fake = await startFakeOllama();
  });
  afterEach(async () => fake.close());

  it('the guardian’s worktree is the implementation’s pushed commit; a failing check rejects without a model run', async () => {
    const { clone } = await remoteAndClone(root, { 'README.md': '# calc\n', 'test.mjs': 'process.exit(0)\n' });
    const { GIT_AUTHOR_NAME: _a, GIT_AUTHOR_EMAIL: _b, GIT_COMMITTER_NAME: _c, GIT_COMMITTER_EMAIL: _d, ...env } = GIT_ENV;
    const manager = new WorkspaceManager({ repos: [{ name: 'calc', path: clone, test_command: 'node test.mjs' }], worktreesRoot: join(root, 'wt'), cacheDir: join(root, 'cache'), env, gh: join(root, 'no-gh') });
    // The implementation: a commit on its own branch, pushed, with a test that now fails.
    const impl = await manager.prepare({ id: '01JIMPL', title: 'Implement', repo: 'calc' });
    await writeFiles(impl.path, { 'test.mjs': "console.error('broken by the change'); process.exit(1)\n" });
    const submitted = await manager.submit(impl, { taskId: '01JIMPL', title: 'Implement' });
    await manager.release(impl);
    expect(submitted.files_changed).toEqual(['test.mjs']);

    const guardianTask = { ...makeTask({ id: '01JQA', verification: [] }), guardian: { role: 'qa' as const, target: '01JIMPL', rest: [], branch: submitted.branch, commit: submitted.commit } };
    const ws = await manager.prepare({ id: guardianTask.id, title: 'QA', repo: 'calc', guardian: guardianTask.guardian });
    expect(await git(ws.path, 'rev-parse', 'HEAD')).toBe(submitted.commit);
    expect(ws.reviewBase).not.toBeNull();
    const result = await runBuildVerifyFix({ task: guardianTask, executor: new OllamaExecutor({ baseUrl: fake.url, model: 'qwen2.5-coder:7b' }), workspace: loopWorkspace(manager, ws), timeoutMs: 60_000, signal: new AbortController().signal, onProgress: () => undefined });
    await manager.release(ws);
    expect(fake.requests.filter((r) => r.path === '/api/chat')).toEqual([]); // the model was not asked
    expect(result.ok).toBe(true);
    expect(result.guardian?.verdict).toMatchObject({ verdict: 'REJECT', findings: [expect.objectContaining({ severity: 'high', message: expect.stringContaining('broken by the change') })] });
  });
});
