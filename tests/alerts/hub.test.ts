/**
 * Alerts on a real hub (LevelDB, WebSockets on 127.0.0.1, the compiled CLI): no agent online
 * fires on a hub with none and clears when a sidecar connects; a task no connected agent can run
 * is named with what is missing; a task that really dead-letters raises dead_letter_growth,
 * acknowledged through the CLI; each change reaches the feed and the log.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../shared/alerts.js';
import { runCli, show } from '../support/cli-run.js';
import { ADMIN_TOKEN, RawClient, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub;
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await h?.close();
});

const FAST = { alertCheckMs: 50, alertNoAgentMs: 0, alertCooldownMs: 0, alertUnplaceableMs: 0 };

async function alerts(state = 'all'): Promise<Alert[]> {
  const res = await h.hub.app.inject({ method: 'GET', url: `/v1/alerts?state=${state}`, headers: h.auth() });
  expect(res.statusCode).toBe(200);
  return (res.json() as { alerts: Alert[] }).alerts;
}

/** Waits for an alert of `rule` in `state`. */
async function until(rule: string, state: Alert['state']): Promise<Alert> {
  const found = await waitFor(async () => (await alerts()).find((a) => a.rule === rule && a.state === state), `${rule} to be ${state}`);
  return found!;
}

async function connect(id: string, over: Record<string, unknown> = {}): Promise<RawClient> {
  const c = await RawClient.connect(h.wsUrl, id, await h.addAgent(id), over);
  clients.push(c);
  return c;
}

describe('on a real hub', () => {
  it('no_agent_online fires with no agent, reaches the feed and the log, and clears when a sidecar connects', async () => {
    h = await startInprocHub({ listen: true, config: FAST, captureLogs: 'info' });
    const feed = await RawClient.open(`${h.wsUrl}/v1/feed?token=${ADMIN_TOKEN}`);
    clients.push(feed);
    await feed.nextOf('hello');
    const fired = await until('no_agent_online', 'active');
    expect(fired).toMatchObject({ severity: 'critical', count: 1, url: '/#/agents' });
    await waitFor(() => h.logs().includes('"level":50') && h.logs().includes('No agent online'), 'the alert logged as an error');

    await connect('w1');
    const cleared = await until('no_agent_online', 'cleared');
    expect(cleared.id).toBe(fired.id);
    // The feed (open before the sidecar came) carries the change.
    const frame = await feed.next((m) => m.type === 'alert.changed' && (m.alert as Alert).state === 'cleared', 5000, 'the alert.changed frame');
    expect(frame.alert).toEqual(cleared);
    expect(await alerts('active')).toEqual([]);
  });

  it('agent_offline fires for a registered agent that went away, and clears when it is back', async () => {
    h = await startInprocHub({ listen: true, config: { ...FAST, alertAgentOfflineMs: 0, alertNoAgentMs: 3_600_000 } });
    const token = await h.addAgent('gpu-1');
    const first = await RawClient.connect(h.wsUrl, 'gpu-1', token);
    await first.close();
    const alert = await until('agent_offline', 'active');
    expect(alert.subject).toEqual({ agent_id: 'gpu-1' });
    expect(alert.url).toBe('/#/agents/gpu-1');
    const again = await RawClient.connect(h.wsUrl, 'gpu-1', token);
    expect((await until('agent_offline', 'cleared')).id).toBe(alert.id);
    // Removed, it is not missed: no new alert for it, even with no cooldown.
    expect((await h.hub.app.inject({ method: 'DELETE', url: '/v1/agents/gpu-1', headers: h.auth() })).statusCode).toBe(204);
    await again.closed;
    await waitFor(() => !h.hub.services.alerts.isRegistered('gpu-1'), 'the removal to be seen');
    await h.hub.services.alerts.check();
    expect((await alerts('active')).filter((a) => a.rule === 'agent_offline')).toEqual([]);
  });

  it('an agent that works only over MCP is present from its calls; a silent one is offline', async () => {
    h = await startInprocHub({ listen: true, config: { ...FAST, alertAgentOfflineMs: 1_000, alertNoAgentMs: 3_600_000 } });
    await h.addAgent('silent-1');
    const client = new Client({ name: 'presence-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${h.url}/v1/mcp`), { requestInit: { headers: { authorization: `Bearer ${await h.addAgent('mcp-1')}` } } }));
    await h.hub.services.alerts.refreshRegistered(); // the periodic refresh, now
    try {
      // mcp-1 polls for work (its only sign of life) until the silent agent's alert fires.
      let polling = true;
      const poll = (async () => {
        while (polling) {
          await client.callTool({ name: 'claim_task', arguments: {} });
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const silent = await until('agent_offline', 'active');
      expect(silent.subject).toEqual({ agent_id: 'silent-1' });
      await h.hub.services.alerts.check();
      expect((await alerts('active')).filter((a) => a.rule === 'agent_offline').map((a) => a.subject)).toEqual([{ agent_id: 'silent-1' }]);
      polling = false;
      await poll;
      // Once its calls stop, the bound runs from its last one.
      const quiet = await waitFor(async () => (await alerts('active')).find((a) => a.rule === 'agent_offline' && (a.subject as { agent_id?: string }).agent_id === 'mcp-1'), 'mcp-1 to be missed');
      expect(quiet!.message).toContain('mcp-1');
    } finally {
      await client.close();
    }
  });

  it("executor_gone folds in the executor watch's alert, and clears when the executor is back", async () => {
    h = await startInprocHub({ listen: true, config: FAST });
    const token = await h.addAgent('w1');
    await (await RawClient.connect(h.wsUrl, 'w1', token)).close();
    const gone = await until('executor_gone', 'active');
    expect(gone).toMatchObject({ subject: { executor: 'shell' }, title: 'Executor shell unavailable' });
    expect(gone.message).toContain('executor shell is unavailable on every connected agent');
    clients.push(await RawClient.connect(h.wsUrl, 'w1', token));
    expect((await until('executor_gone', 'cleared')).id).toBe(gone.id);
  });

  it('agent_idle reports an agent idle past the bound while work waits, and clears once the queue is empty', async () => {
    h = await startInprocHub({ listen: true, config: { ...FAST, alertAgentIdleMs: 0 } });
    await connect('w1', { capabilities: ['cpu'] });
    await waitFor(() => h.hub.registry.get('w1')?.state === 'idle', 'w1 idle');
    // Nothing queued: an idle agent is at rest, nothing to report.
    await new Promise((r) => setTimeout(r, 200));
    expect((await alerts()).filter((a) => a.rule === 'agent_idle')).toEqual([]);
    const res = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'train', executor: 'shell', command: 'true', capabilities: ['gpu'] } });
    const task = res.json() as { id: string };
    const alert = await until('agent_idle', 'active');
    expect(alert).toMatchObject({ severity: 'warning', subject: { agent_id: 'w1' }, url: '/#/agents/w1' });
    expect(alert.message).toMatch(/^agent w1 has been idle for \d+ (s|min) while 1 task\(s\) are queued/);
    await h.hub.app.inject({ method: 'POST', url: `/v1/tasks/${task.id}/cancel`, headers: h.auth(), payload: {} });
    await until('agent_idle', 'cleared');
  });

  it('task_unplaceable names what the connected agents lack', async () => {
    h = await startInprocHub({ listen: true, config: FAST });
    await connect('w1', { capabilities: ['cpu'] });
    const res = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'train', executor: 'shell', command: 'true', capabilities: ['gpu'] } });
    expect(res.statusCode).toBe(201);
    const task = res.json() as { id: string };
    const alert = await until('task_unplaceable', 'active');
    expect(alert.subject).toEqual({ task_id: task.id });
    expect(alert.url).toBe(`/#/tasks/${task.id}`);
    expect(alert.message).toContain('w1: no capability gpu');
    // The task's own view says the same.
    const shown = await h.hub.app.inject({ method: 'GET', url: `/v1/tasks/${task.id}`, headers: h.auth() });
    expect((shown.json() as { waiting: string }).waiting).toContain('w1: no capability gpu');
    // Cancelled, it is no longer queued: the alert clears.
    await h.hub.app.inject({ method: 'POST', url: `/v1/tasks/${task.id}/cancel`, headers: h.auth(), payload: {} });
    await until('task_unplaceable', 'cleared');
  });

  it('a task that dead-letters raises dead_letter_growth; `switchyard alerts ack` acknowledges it', async () => {
    h = await startInprocHub({ listen: true, config: { ...FAST, alertWindowMs: 60_000 } });
    const w = await connect('w1');
    const res = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'doomed', executor: 'shell', command: 'false', max_attempts: 1 } });
    const task = res.json() as { id: string };
    const assign = await w.nextOf('task.assign');
    const generation = assign.generation as number;
    w.send({ type: 'task.accept', id: 'a-1', task_id: task.id, generation });
    await w.next((m) => m.type === 'ack' && m.id === 'a-1');
    w.send({ type: 'task.fail', id: 'f-1', task_id: task.id, generation, error: { code: 'EXEC_EXIT', message: 'exit 1', retryable: false } });
    await waitFor(async () => (await h.store.get(task.id))?.status === 'dead_letter', 'the task to dead-letter');
    const alert = await until('dead_letter_growth', 'active');
    expect(alert.message).toMatch(/^1 task\(s\) dead-lettered/);

    const listed = await runCli(['alerts', '--hub', h.url, '--token', ADMIN_TOKEN]);
    expect(listed.code, show(listed)).toBe(0);
    expect(listed.stdout).toContain(alert.id);
    const acked = await runCli(['alerts', 'ack', alert.id, '--hub', h.url, '--token', ADMIN_TOKEN]);
    expect(acked.code, show(acked)).toBe(0);
    expect(acked.stdout).toContain(`acknowledged ${alert.id}`);
    const all = await runCli(['alerts', '--all', '--json', '--hub', h.url, '--token', ADMIN_TOKEN]);
    expect((JSON.parse(all.stdout) as Alert[]).find((a) => a.id === alert.id)).toMatchObject({ state: 'acknowledged', acked_by: 'admin' });
    const unknown = await runCli(['alerts', 'ack', 'nope:fleet:1', '--hub', h.url, '--token', ADMIN_TOKEN]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('ALERT_NOT_FOUND');
  });
});

it('switchyard alerts --help says how to use it', async () => {
  const r = await runCli(['alerts', '--help']);
  expect(r.code, show(r)).toBe(0);
  expect(r.stdout).toContain('switchyard alerts ack ID');
  const top = await runCli(['--help']);
  expect(top.stdout).toMatch(/alerts\s+List the hub's alerts/);
});
