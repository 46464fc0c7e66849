/**
 * The whole system over real sockets: a hub process and sidecar processes on 127.0.0.1, killed
 * with SIGKILL at the worst moments. Leases are short here so that reclaiming takes seconds.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Task, TaskEvent } from '../../shared/task.js';
import { api, ensureBuilt, freePort, registerAgent, startHubProc, startSidecarProc, tempDir, waitFor, type Proc } from '../support/processes.js';
import { stopAfterEach } from '../support/cleanup.js';

const HUB_ENV = { SWITCHYARD_LEASE_MS: '2000', SWITCHYARD_HEARTBEAT_MS: '300', SWITCHYARD_ACCEPT_TIMEOUT_MS: '2000' };
const SIDECAR_ENV = { SWITCHYARD_RECONNECT_MAX_MS: '1000', SWITCHYARD_DRAIN_GRACE_MS: '300' };

const procs = stopAfterEach();
beforeAll(() => ensureBuilt());

/** Leases long enough that a restart under load never outlasts them (no reclaim expected). */
const LONG_LEASE = { ...HUB_ENV, SWITCHYARD_LEASE_MS: '15000' };

async function fleet(sidecars: string[], hubEnv: NodeJS.ProcessEnv = HUB_ENV) {
  const dir = tempDir('fleet');
  const port = await freePort();
  const hubData = join(dir, 'hub');
  const hub = await startHubProc(hubData, port, hubEnv);
  procs.push(hub.proc);
  const tokens: Record<string, string> = {};
  const sc: Record<string, Proc> = {};
  for (const id of sidecars) {
    tokens[id] = await registerAgent(hub.url, id);
    sc[id] = startSidecarProc(hub.url, id, tokens[id], join(dir, id), SIDECAR_ENV);
    procs.push(sc[id]);
  }
  for (const id of sidecars) await sc[id]!.waitForLog('connected to hub');
  return { dir, port, hubData, hub, tokens, sc };
}

const getTask = async (url: string, id: string) => (await api<{ task: Task; events: TaskEvent[] }>(url, 'GET', `/v1/tasks/${id}`)).body;
const completions = (events: TaskEvent[]) => events.filter((e) => e.to === 'completed').length;

describe('a hub and two sidecars', () => {
  test('tasks flow to both agents and complete', async () => {
    const { hub } = await fleet(['a1', 'a2']);
    const res = await api<{ tasks: Task[] }>(hub.url, 'POST', '/v1/tasks/batch', {
      tasks: Array.from({ length: 6 }, (_, i) => ({ title: `t${i}`, executor: 'shell', command: `sleep 0.3; echo out-${i}` })),
    });
    expect(res.status).toBe(201);
    const ids = res.body.tasks.map((t) => t.id);
    const done = await waitFor('all tasks completed', async () => {
      const all = await Promise.all(ids.map((id) => getTask(hub.url, id)));
      return all.every((t) => t.task.status === 'completed') && all;
    });
    const agents = new Set(done.map((t) => t.events.find((e) => e.to === 'assigned')!.reason));
    expect(agents.size).toBe(2);
    done.forEach((t, i) => {
      expect(completions(t.events)).toBe(1);
      expect((t.task.result as { output_tail: string }).output_tail).toContain(`out-${i}`);
    });
  });

  test('a sidecar killed mid-task: the task is reclaimed and completed by the other, exactly once; the zombie result is refused', async () => {
    const { hub, sc, tokens, dir } = await fleet(['a1', 'a2']);
    const marker = join(dir, 'runs.txt');
    const created = await api<Task>(hub.url, 'POST', '/v1/tasks', { title: 'slow', executor: 'shell', command: `echo run >> '${marker}'; sleep 1.5; echo finished` });
    const running = await waitFor('task running', async () => {
      const t = (await getTask(hub.url, created.body.id)).task;
      return t.status === 'running' && t;
    });
    const victim = running.lease!.agent_id;
    const survivor = victim === 'a1' ? 'a2' : 'a1';
    sc[victim]!.kill('SIGKILL');

    const done = await waitFor('task completed by the survivor', async () => {
      const t = await getTask(hub.url, created.body.id);
      return t.task.status === 'completed' && t;
    }, 30_000);
    expect(completions(done.events)).toBe(1);
    expect(done.task.generation).toBe(2);
    expect(done.task.attempts).toBe(2);
    const assigned = done.events.filter((e) => e.to === 'assigned').map((e) => e.reason);
    expect(assigned).toEqual([`assigned to ${victim}`, `assigned to ${survivor}`]);
    expect(done.events.some((e) => e.from === 'running' && e.to === 'queued' && e.reason.startsWith('LEASE_EXPIRED'))).toBe(true);

    // The killed sidecar's old result arrives late (a zombie with generation 1): refused, nothing changes.
    const ws = new WebSocket(hub.url.replace('http', 'ws') + '/v1/agent');
    const frames: Array<Record<string, unknown>> = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({
      type: 'hello', protocol: 1, agent_id: victim, token: tokens[victim], capabilities: [], executors: [], max_concurrency: 1,
      resources: { cpu_count: 1, load_1m: 0, ram_total_mb: 1, ram_free_mb: 1, gpus: [] }, in_flight: [],
    }));
    await waitFor('welcome', () => frames.find((f) => f.type === 'welcome'));
    ws.send(JSON.stringify({ type: 'task.complete', id: 'zombie-1', task_id: created.body.id, generation: 1, result: { stale: true } }));
    const reply = await waitFor('reply to the zombie', () => frames.find((f) => f.id === 'zombie-1'));
    expect(reply).toMatchObject({ type: 'error', code: 'STALE_GENERATION' });
    ws.close();
    const after = await getTask(hub.url, created.body.id);
    expect(completions(after.events)).toBe(1);
    expect(after.task.result).toEqual(done.task.result);
    expect(readFileSync(marker, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(1);
  });

  test('the hub killed mid-task and restarted: the sidecar reconnects, resumes, and its completion is accepted once', async () => {
    const { hub, hubData, port, sc } = await fleet(['a1'], LONG_LEASE);
    const created = await api<Task>(hub.url, 'POST', '/v1/tasks', { title: 'survives the hub', executor: 'shell', command: 'sleep 2; echo survived' });
    await waitFor('task running', async () => (await getTask(hub.url, created.body.id)).task.status === 'running');
    hub.proc.kill('SIGKILL');
    await hub.proc.exited;
    const mark = sc.a1!.lines.length;
    const again = await startHubProc(hubData, port, LONG_LEASE);
    procs.push(again.proc);
    await sc.a1!.waitForLog('connected to hub', 20_000, mark);

    const done = await waitFor('task completed after the restart', async () => {
      const t = await getTask(again.url, created.body.id);
      return t.task.status === 'completed' && t;
    }, 30_000);
    expect(completions(done.events)).toBe(1);
    expect(done.task.generation).toBe(1); // the same lease went on: no reassignment
    expect(done.task.attempts).toBe(1);
    expect((done.task.result as { output_tail: string }).output_tail).toContain('survived');
    const health = await api<{ status: string }>(again.url, 'GET', '/v1/health');
    expect(health.body.status).toBe('ok');
  });

  test('a sidecar killed and restarted with its state: it resumes the task under the same lease', async () => {
    const { hub, sc, tokens, dir } = await fleet(['a1'], LONG_LEASE);
    const marker = join(dir, 'runs.txt');
    // Long enough that the killed sidecar's command is still running when the new one starts, on a loaded box too.
    const created = await api<Task>(hub.url, 'POST', '/v1/tasks', { title: 'restart me', executor: 'shell', command: `sleep 4; echo run >> '${marker}'; echo second-life` });
    // Kill it once its command runs and the sidecar has recorded the command's process group.
    await waitFor('the command recorded in state.json', () => existsSync(join(dir, 'a1', 'state.json')) && readFileSync(join(dir, 'a1', 'state.json'), 'utf8').includes('"pgid"'));
    sc.a1!.kill('SIGKILL');
    await sc.a1!.exited;
    const restarted = startSidecarProc(hub.url, 'a1', tokens.a1!, join(dir, 'a1'), SIDECAR_ENV);
    procs.push(restarted);
    await restarted.waitForLog('restored held tasks');
    const done = await waitFor('task completed', async () => {
      const t = await getTask(hub.url, created.body.id);
      return t.task.status === 'completed' && t;
    }, 30_000);
    expect(completions(done.events)).toBe(1);
    expect(done.task.generation).toBe(1);
    expect(restarted.lines.some((l) => l.includes('resuming a task interrupted by a sidecar restart'))).toBe(true);
    // The killed sidecar's command (its own process group) was stopped, not left to run beside the rerun.
    expect(restarted.lines.some((l) => l.includes('stopped an orphaned process group'))).toBe(true);
    expect(readFileSync(marker, 'utf8')).toBe('run\n');
  });

  test('cancelling a running task stops its process on the sidecar, which then takes the next task', async () => {
    const { hub, sc, dir } = await fleet(['a1']);
    const pidFile = join(dir, 'pid');
    const long = await api<Task>(hub.url, 'POST', '/v1/tasks', { title: 'forever', executor: 'shell', command: `echo $$ > '${pidFile}'; sleep 60` });
    await waitFor('the command started', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const cancelled = await api<Task>(hub.url, 'POST', `/v1/tasks/${long.body.id}/cancel`, { reason: 'not needed' });
    expect(cancelled.body.status).toBe('cancelled');
    await sc.a1!.waitForLog('task taken back by the hub');
    await waitFor('the command is gone', () => {
      try {
        process.kill(pid, 0);
        return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z'; // a zombie is gone too
      } catch {
        return true;
      }
    });
    const next = await api<Task>(hub.url, 'POST', '/v1/tasks', { title: 'next', executor: 'shell', command: 'echo next' });
    const done = await waitFor('the next task completed', async () => {
      const t = await getTask(hub.url, next.body.id);
      return t.task.status === 'completed' && t;
    });
    expect((done.task.result as { output_tail: string }).output_tail).toContain('next');
    const after = await getTask(hub.url, long.body.id);
    expect(after.task.status).toBe('cancelled');
    expect(completions(after.events)).toBe(0);
  });

  test("a running task's live output shows in GET /v1/tasks/:id, and is gone once it ends", async () => {
    const { hub } = await fleet(['a1']);
    const created = await api<Task>(hub.url, 'POST', '/v1/tasks', { title: 'talks', executor: 'shell', command: 'echo step-one; sleep 2; echo step-two' });
    const live = await waitFor('live output', async () => {
      const res = await api<{ task: Task; progress_tail: string | null }>(hub.url, 'GET', `/v1/tasks/${created.body.id}`);
      return res.body.task.status === 'running' && res.body.progress_tail?.includes('step-one') && res.body;
    });
    expect(live.progress_tail).not.toContain('step-two');
    const done = await waitFor('completed', async () => {
      const res = await api<{ task: Task; progress_tail: string | null }>(hub.url, 'GET', `/v1/tasks/${created.body.id}`);
      return res.body.task.status === 'completed' && res.body;
    });
    expect(done.progress_tail).toBeNull();
    expect((done.task.result as { output_tail: string }).output_tail).toContain('step-two');
  });

  test('SIGTERM drains: a task still running after the grace period is handed back and finished elsewhere', async () => {
    const { hub, sc, dir } = await fleet(['a1']);
    const created = await api<Task>(hub.url, 'POST', '/v1/tasks', { title: 'long', executor: 'shell', command: 'sleep 5; echo done' });
    await waitFor('task running', async () => (await getTask(hub.url, created.body.id)).task.status === 'running');
    // A second sidecar joins, then the first is asked to stop with a short grace.
    const a2token = await registerAgent(hub.url, 'a2');
    const a2 = startSidecarProc(hub.url, 'a2', a2token, join(dir, 'a2'), SIDECAR_ENV);
    procs.push(a2);
    await a2.waitForLog('connected to hub');
    sc.a1!.kill('SIGTERM');
    const exit = await sc.a1!.exited;
    expect(exit.code).toBe(0);
    expect(sc.a1!.lines.some((l) => l.includes('handed a task back'))).toBe(true);
    const done = await waitFor('task completed by a2', async () => {
      const t = await getTask(hub.url, created.body.id);
      return t.task.status === 'completed' && t;
    }, 30_000);
    expect(done.events.filter((e) => e.to === 'assigned').map((e) => e.reason)).toEqual(['assigned to a1', 'assigned to a2']);
    expect(completions(done.events)).toBe(1);
  });
});
