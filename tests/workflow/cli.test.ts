/**
 * The review workflow's operator commands in the built CLI (`switchyard task answer | force-unblock
 * | approve | reject | supervision`) against a real listening hub: each reaches its route, changes
 * the task as the service says, and a wrong use is refused with a clear message, not a stack.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Task } from '../../shared/task.js';
import type { Principal } from '../../hub/service/access.js';
import { runCli, show } from '../support/cli-run.js';
import { ADMIN_TOKEN, startInprocHub, type InprocHub } from '../support/hub-inproc.js';

const AGENT: Principal = { kind: 'agent', actor: 'agent:a0', agentId: 'a0' };
let h: InprocHub;

beforeEach(async () => {
  h = await startInprocHub({ listen: true });
});
afterEach(async () => {
  await h.close();
});

const cli = (...args: string[]) => runCli(['task', ...args, '--hub', h.url, '--token', ADMIN_TOKEN]);

/** A task an agent runs under a lease (leased and accepted in the store, as the gateway would). */
async function running(title: string, spec: Record<string, unknown> = {}): Promise<Task> {
  const created = (await h.store.create({ title, ...spec }, 'admin')).task;
  const leased = (await h.store.leaseTask(created.id, { agentId: 'a0', capabilities: [], anyRoute: true }))!;
  return h.store.accept(leased.id, leased.generation, 'a0');
}

describe('switchyard task answer | force-unblock | approve | reject | supervision', () => {
  it('answers a blocked task: it is queued again with the answer recorded', async () => {
    const t = await running('Add a flag');
    await h.hub.services.workflow.ask(AGENT, t.id, t.generation, { text: 'Which name, --force or --yes?' });
    const r = await cli('answer', t.id, 'Use --yes.');
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain(`${t.id} is queued`);
    const after = (await h.store.get(t.id))!;
    expect(after.clarifications![0]).toMatchObject({ answer: 'Use --yes.', answered_by: 'admin' });
  });

  it('force-unblocks a blocked task with a note, and refuses an answer without text', async () => {
    const t = await running('Rename a module');
    await h.hub.services.workflow.ask(AGENT, t.id, t.generation, { text: 'Which module?' });
    const missing = await cli('answer', t.id);
    expect(missing.code, show(missing)).toBe(2);
    expect(missing.stderr).toContain('needs the answer');
    const r = await cli('force-unblock', t.id, '--note', 'pick any');
    expect(r.code, show(r)).toBe(0);
    expect((await h.store.get(t.id))!.status).toBe('queued');
  });

  it('rejects a task in review with feedback (reopened, counted) and approves one (completed)', async () => {
    const a = await running('Fix the parser', { review: true });
    await h.store.complete(a.id, a.generation, 'a0', { ok: true });
    expect((await h.store.get(a.id))!.status).toBe('review');
    const rejected = await cli('reject', a.id, 'Handle the empty input too.');
    expect(rejected.code, show(rejected)).toBe(0);
    const reopened = (await h.store.get(a.id))!;
    expect(reopened.status).toBe('queued');
    expect(JSON.stringify(reopened.feedback)).toContain('Handle the empty input too.');

    const b = await running('Fix the lexer', { review: true });
    await h.store.complete(b.id, b.generation, 'a0', { ok: true });
    const approved = await cli('approve', b.id, '--json');
    expect(approved.code, show(approved)).toBe(0);
    expect((JSON.parse(approved.stdout) as Task).status).toBe('completed');
  });

  it('answering a task that is not blocked is refused with the hub error, exit 1', async () => {
    const created = (await h.store.create({ title: 'queued one' }, 'admin')).task;
    const r = await cli('answer', created.id, 'text');
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toMatch(/ILLEGAL_TRANSITION|not blocked|blocked/);
  });

  it('lists the workflow commands in --help', async () => {
    const r = await runCli(['task', '--help']);
    expect(r.code).toBe(0);
    for (const c of ['answer ID', 'force-unblock ID', 'approve ID', 'reject ID', 'supervision ID MODE']) expect(r.stdout).toContain(c);
  });
});

describe('switchyard escalations', () => {
  it('lists the escalation a third rejection raises (the circuit breaker), shows it, and resolves it', async () => {
    const { waitFor } = await import('../support/hub-inproc.js');
    const { OPERATOR } = await import('../../hub/service/access.js');
    const created = (await h.store.create({ title: 'Keeps being wrong', review: true }, 'admin')).task;
    for (let i = 0; i < 3; i++) {
      const leased = (await h.store.leaseTask(created.id, { agentId: 'a0', capabilities: [], anyRoute: true }))!;
      const t = await h.store.accept(leased.id, leased.generation, 'a0');
      await h.store.complete(t.id, t.generation, 'a0', { ok: true });
      await h.hub.services.workflow.reject(OPERATOR, t.id, `not yet (${i + 1})`);
    }
    const after = (await h.store.get(created.id))!;
    expect(after.status).toBe('dead_letter');
    expect(after.last_error?.code).toBe('CIRCUIT_OPEN');
    const esc = () => runCli(['escalations', '--json', '--hub', h.url, '--token', ADMIN_TOKEN]);
    let list: Array<{ id: string; kind: string; task_id: string }> = [];
    await waitFor(async () => {
      const r = await esc();
      list = r.code === 0 ? (JSON.parse(r.stdout) as typeof list) : [];
      return list.some((e) => e.kind === 'circuit_open' && e.task_id === created.id);
    }, 'the circuit_open escalation');
    const e = list.find((x) => x.kind === 'circuit_open')!;
    const text = await runCli(['escalations', '--hub', h.url, '--token', ADMIN_TOKEN]);
    expect(text.stdout).toMatch(/ID\s+KIND\s+PRIORITY/);
    expect(text.stdout).toContain(e.id);
    const shown = await runCli(['escalations', 'show', e.id, '--hub', h.url, '--token', ADMIN_TOKEN]);
    expect(shown.code, show(shown)).toBe(0);
    expect(shown.stdout).toContain(`task ${created.id}`);
    const resolved = await runCli(['escalations', 'resolve', e.id, '--resolution', 'split into two tasks', '--json', '--hub', h.url, '--token', ADMIN_TOKEN]);
    expect(resolved.code, show(resolved)).toBe(0);
    expect(JSON.parse(resolved.stdout)).toMatchObject({ id: e.id, resolution: 'split into two tasks', resolved_by: 'admin' });
    const open = await esc();
    expect((JSON.parse(open.stdout) as typeof list).some((x) => x.id === e.id)).toBe(false);
    const missing = await runCli(['escalations', 'resolve', '--hub', h.url, '--token', ADMIN_TOKEN]);
    expect(missing.code).toBe(2);
    const help = await runCli(['escalations', '--help']);
    expect(help.stdout).toContain('switchyard escalations resolve ID');
  });
});
