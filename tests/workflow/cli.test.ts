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
  const leased = (await h.store.leaseTask(created.id, { agentId: 'a0', capabilities: [] }))!;
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
