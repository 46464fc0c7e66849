/**
 * A bad state.json (issue item 9): garbage, empty, truncated or `null` once ended the sidecar
 * with a stack trace, and valid JSON of the wrong shape left it running but never connecting.
 * Now each is moved aside with a warning and the sidecar starts clean; and a pgid in a valid file
 * is killed only when proven to be the sidecar's (see orphans.test.ts). Real files; the last tests
 * run the real sidecar process against a real hub.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startTicksOf } from '../../sidecar/executors/process-sweep.js';
import { bootId } from '../../sidecar/orphans.js';
import { SidecarState, type HeldTask } from '../../sidecar/state.js';
import { processGone } from '../sidecar-work/helpers.js';
import { heldTask } from '../support/held-task.js';
import { ensureBuilt, freePort, registerAgent, startHubProc, startSidecarProc, tempDir, type HubProc, type Proc } from '../support/processes.js';

function capture(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

const good = (over: Partial<HeldTask> = {}) => ({ task: heldTask('t1'), generation: 1, state: 'running', ...over });
const file = (tasks: unknown) => JSON.stringify({ version: 1, tasks });
const withTask = (patch: Record<string, unknown>) => file({ t1: { ...good(), task: { ...heldTask('t1'), ...patch } } });
const validFile = file({ t1: good() });

/** Each bad file, and a piece of the problem the warning must name. */
const BAD: Array<[string, string, RegExp]> = [
  ['garbage', '}{ not json at all', /not JSON/],
  ['empty', '', /empty/],
  ['truncated', validFile.slice(0, Math.floor(validFile.length / 2)), /not JSON/],
  ['null', 'null', /\(root\)/],
  ['an array', '[]', /\(root\)/],
  ['another version', JSON.stringify({ version: 2, tasks: {} }), /version/],
  ['tasks as an array', JSON.stringify({ version: 1, tasks: [good()] }), /tasks/],
  ['a held entry without task', file({ t1: { generation: 1, state: 'running' } }), /task/],
  ['a task without timeouts.lease_ms', withTask({ timeouts: { start_ms: 1, overall_ms: 1 } }), /timeouts/],
  ['a task whose title is a number', withTask({ title: 42 }), /title/],
  ['a verification step of no known type', withTask({ verification: [{ type: 'rm_rf' }] }), /verification/],
  ['an unknown state', file({ t1: good({ state: 'paused' as HeldTask['state'] }) }), /state/],
  ['a finished task without its result', file({ t1: good({ state: 'finished' }) }), /finished but holds no result/],
  ['an entry under another task\'s id', file({ t2: good() }), /another id/],
  ['pgid 1 (kill(-1) is every process)', file({ t1: good({ pgid: 1 }) }), /pgid/],
];

describe('SidecarState.load with a bad file', () => {
  test.each(BAD)('%s: moved aside with a warning, and the state starts empty and writable', async (_name, content, problem) => {
    const dir = tempDir('bad-state');
    writeFileSync(join(dir, 'state.json'), content);
    const { log, lines } = capture();
    const state = new SidecarState(dir, log);
    await state.load();
    expect(state.all()).toEqual([]);
    const aside = readdirSync(dir).filter((f) => f.startsWith('state.json.bad-'));
    expect(aside).toHaveLength(1);
    expect(aside[0]).toMatch(/^state\.json\.bad-\d{8}T\d{9}Z$/);
    expect(readFileSync(join(dir, aside[0]!), 'utf8')).toBe(content); // kept for a post-mortem
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
    const warn = lines.find((l) => l.level === 40);
    expect(warn?.msg).toMatch(/not valid: moved it aside .* the hub will reclaim/);
    expect(String(warn?.problem)).toMatch(problem);
    expect(warn?.moved_to).toBe(join(dir, aside[0]!));
    // It goes on as a fresh sidecar: the next change writes a valid file that loads again.
    await state.set('t9', { task: heldTask('t9'), generation: 1, state: 'assigned' });
    const again = new SidecarState(dir, log);
    await again.load();
    expect(again.all().map((h) => h.task.id)).toEqual(['t9']);
  });

  test('a valid file with every optional field loads as it was, without a warning', async () => {
    const dir = tempDir('good-state');
    const held = good({ pgid: 4242, boot_id: 'b', pgid_start_ticks: 123, run_id: '0123456789abcdef' });
    const finished = { ...good(), task: heldTask('t2', { verification: [{ type: 'git_clean' }], repo: 'r', model: 'm', command: null }), state: 'finished', result: { type: 'task.complete', id: 'm1', task_id: 't2', generation: 1, result: { any: ['thing'] } } };
    writeFileSync(join(dir, 'state.json'), file({ t1: held, t2: finished }));
    const { log, lines } = capture();
    const state = new SidecarState(dir, log);
    await state.load();
    expect(state.all()).toEqual([held, finished]);
    expect(lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
  });
});

describe('the sidecar process with a bad state file', () => {
  let hub: HubProc;
  let dir: string;
  const procs: Proc[] = [];
  beforeAll(async () => {
    ensureBuilt();
    dir = tempDir('bad-state-e2e');
    hub = await startHubProc(join(dir, 'hub'), await freePort());
    procs.push(hub.proc);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
  });

  const cases: Array<[string, string]> = [
    ['garbage', 'garbage{'],
    ['null', 'null'],
    ['a held entry without task', file({ t1: { generation: 1, state: 'running' } })],
    ['tasks as an array', JSON.stringify({ version: 1, tasks: [good()] })],
  ];
  test.each(cases)('%s: it warns, moves the file aside, and connects', async (name, content) => {
    const id = `bad-${name.replace(/\W+/g, '-')}`;
    const token = await registerAgent(hub.url, id);
    const data = join(dir, id);
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'state.json'), content);
    const sidecar = startSidecarProc(hub.url, id, token, data);
    procs.push(sidecar);
    try {
      await sidecar.waitForLog('connected to hub');
    } catch (err) {
      console.error(sidecar.dump());
      throw err;
    }
    const warn = sidecar.lines.find((l) => l.includes('the state file is not valid'));
    expect(warn).toBeDefined();
    expect(JSON.parse(warn!).level).toBe(40);
    expect(sidecar.lines.join('\n')).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(readdirSync(data).some((f) => f.startsWith('state.json.bad-'))).toBe(true);
    await sidecar.stop();
  }, 30_000);

  test('a valid file whose pgid now names a process group of someone else: the sidecar leaves it alone', async () => {
    const other = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    try {
      const token = await registerAgent(hub.url, 'reused-pid');
      const data = join(dir, 'reused-pid');
      mkdirSync(data, { recursive: true });
      // What a killed sidecar left: its run's leader had this pid, and started at another time.
      const recorded = { pgid: other.pid!, boot_id: bootId(), pgid_start_ticks: startTicksOf(other.pid!)! - 1, run_id: '0123456789abcdef' };
      writeFileSync(join(data, 'state.json'), file({ t1: good(recorded) }));
      const sidecar = startSidecarProc(hub.url, 'reused-pid', token, data);
      procs.push(sidecar);
      await sidecar.waitForLog('connected to hub');
      await new Promise((r) => setTimeout(r, 300));
      expect(processGone(other.pid!)).toBe(false);
      expect(sidecar.lines.some((l) => l.includes('stopped an orphaned process group'))).toBe(false);
      await sidecar.stop();
    } finally {
      other.kill('SIGKILL');
    }
  }, 30_000);
});
