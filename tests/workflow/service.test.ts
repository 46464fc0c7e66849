/**
 * The workflow's service API (hub/service/workflow.ts) over a real store: questions (blocked,
 * answered, force-unblocked), plans approved and refused, review rejections with feedback and the
 * circuit breaker, submissions with evidence, and who may do each. LevelDB in a temp folder.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SwitchyardError } from '../../shared/errors.js';
import type { Task, TaskSpec } from '../../shared/task.js';
import { OPERATOR, type Principal } from '../../hub/service/access.js';
import { WorkflowService } from '../../hub/service/workflow.js';
import type { TaskStore } from '../../hub/store/task-store.js';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import { signatureOf } from '../../hub/queue/ready-index.js';
import { K } from '../../hub/store/keys.js';
import { openLevelKv } from '../../hub/store/level-kv.js';
import { FakeClock, makeTempDir, removeDir } from '../support/queue-store.js';

const AGENT: Principal = { kind: 'agent', actor: 'agent:a0', agentId: 'a0' };
const OTHER: Principal = { kind: 'agent', actor: 'agent:a1', agentId: 'a1' };

let store: TaskStore;
let dir: string;
let wf: WorkflowService;
const clock = new FakeClock();

beforeEach(async () => {
  dir = await makeTempDir('switchyard-workflow-');
  store = await openTaskStore(dir, { now: clock.now, autoSweep: false });
  wf = new WorkflowService(store);
});
afterEach(async () => {
  await store.close();
  await removeDir(dir);
});

async function running(spec: TaskSpec): Promise<Task> {
  const created = (await store.create(spec, 'test')).task;
  const leased = (await store.leaseTask(created.id, { agentId: 'a0', capabilities: [] }))!;
  return store.accept(leased.id, leased.generation, 'a0');
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SwitchyardError) return err.code;
    throw err;
  }
  return 'resolved';
}

describe('clarifications', () => {
  it('an agent asks on its own lease: blocked with the question, lease ended, attempt given back; the answer queues it with the answer recorded', async () => {
    const t = await running({ title: 'Add a flag' });
    expect(t.attempts).toBe(1);
    const blocked = await wf.ask(AGENT, t.id, t.generation, { text: 'Which name, --force or --yes?', options: ['--force', '--yes'] });
    expect(blocked).toMatchObject({ status: 'blocked', lease: null, attempts: 0 });
    expect(blocked.clarifications).toEqual([
      { question: 'Which name, --force or --yes?', options: ['--force', '--yes'], asked_at: clock.t, asked_by: 'a0', generation: t.generation, answer: null, answered_at: null, answered_by: null },
    ]);
    const answered = await wf.answer(OPERATOR, t.id, 'Use --yes.');
    expect(answered.status).toBe('queued');
    expect(answered.clarifications![0]).toMatchObject({ answer: 'Use --yes.', answered_by: 'admin', answered_at: clock.t });
    expect((await store.get(t.id))!.status).toBe('queued');
  });

  it('refuses a question on a lease the agent does not hold, or with an old generation, or from the operator', async () => {
    const t = await running({ title: 'Add a flag' });
    expect(await code(wf.ask(OTHER, t.id, t.generation, { text: 'mine?' }))).toBe('NOT_LEASE_HOLDER');
    expect(await code(wf.ask(AGENT, t.id, t.generation - 1, { text: 'old?' }))).toBe('STALE_GENERATION');
    expect(await code(wf.ask(OPERATOR, t.id, t.generation, { text: 'admin?' }))).toBe('FORBIDDEN');
    expect(await code(wf.ask(AGENT, t.id, t.generation, { text: '' }))).toBe('VALIDATION_FAILED');
    expect((await store.get(t.id))!.status).toBe('running');
  });

  it('force-unblock queues a blocked task without an answer; answering a task that is not blocked is refused', async () => {
    const t = await running({ title: 'Add a flag' });
    expect(await code(wf.answer(OPERATOR, t.id, 'early'))).toBe('ILLEGAL_TRANSITION');
    await wf.ask(AGENT, t.id, t.generation, { text: 'Which name?' });
    expect(await code(wf.answer(OPERATOR, t.id, '   '))).toBe('VALIDATION_FAILED');
    expect(await code(wf.answer(AGENT, t.id, 'self-answer'))).toBe('FORBIDDEN');
    const unblocked = await wf.forceUnblock(OPERATOR, t.id);
    expect(unblocked.status).toBe('queued');
    expect(unblocked.clarifications![0]).toMatchObject({ answer: null, forced: true, answered_by: 'admin' });
  });
});

describe('plans and reviews', () => {
  it('a complex task is planned first: its plan waits in review; approved, it is queued for the implementation with the plan', async () => {
    const t = await running({ title: 'Refactor the session store' });
    expect(t.supervision).toMatchObject({ mode: 'plan' });
    expect(t.phase).toBe('plan');
    const inReview = await store.complete(t.id, t.generation, 'a0', { plan: { steps: ['split the file'], files: ['src/session.ts'], risks: ['none'] } });
    expect(inReview.status).toBe('review');
    const approved = await wf.approve(OPERATOR, t.id, 'go ahead');
    expect(approved).toMatchObject({ status: 'queued', phase: 'implement', plan: { steps: ['split the file'], files: ['src/session.ts'], risks: ['none'], approved_by: 'admin', approved_at: clock.t } });
    // The implementation is not reviewed (plan mode): it completes.
    const leased = (await store.leaseTask(t.id, { agentId: 'a0', capabilities: [] }))!;
    const again = await store.accept(leased.id, leased.generation, 'a0');
    expect((await store.complete(again.id, again.generation, 'a0', 'done')).status).toBe('completed');
  });

  it('a refused plan is planned again with the feedback, counted by the breaker', async () => {
    const t = await running({ title: 'Refactor the session store' });
    await store.complete(t.id, t.generation, 'a0', 'Steps:\n- rewrite everything');
    const refused = await wf.reject(OPERATOR, t.id, 'Too broad: keep the API.');
    expect(refused).toMatchObject({ status: 'queued', phase: 'plan', breaker: { rejections: 1, expiries: 0, opened_at: null } });
    expect(refused.feedback).toEqual([{ at: clock.t, by: 'admin', kind: 'plan', text: 'Too broad: keep the API.', attempt: 1 }]);
  });

  it('reject needs feedback; three rejections open the circuit breaker for good (CIRCUIT_OPEN, not retryable)', async () => {
    let t = await running({ title: 'Add a flag', review: true });
    expect(await code(wf.reject(OPERATOR, t.id, 'no'))).toBe('ILLEGAL_TRANSITION');
    for (let i = 1; i <= 3; i++) {
      t = await store.complete(t.id, t.generation, 'a0', `try ${i}`);
      expect(t.status).toBe('review');
      expect(await code(wf.reject(OPERATOR, t.id, ''))).toBe('VALIDATION_FAILED');
      t = await wf.reject(OPERATOR, t.id, `wrong ${i}`, [{ message: 'no test', file: 'src/a.ts', line: 3, severity: 'high' }]);
      if (i < 3) {
        expect(t).toMatchObject({ status: 'queued', breaker: { rejections: i } });
        const leased = (await store.leaseTask(t.id, { agentId: 'a0', capabilities: [] }))!;
        t = await store.accept(leased.id, leased.generation, 'a0');
      }
    }
    expect(t.status).toBe('dead_letter');
    expect(t.last_error).toMatchObject({ code: 'CIRCUIT_OPEN', retryable: false });
    expect(t.breaker).toEqual({ rejections: 3, expiries: 0, opened_at: clock.t });
    expect(t.feedback!.map((f) => f.text)).toEqual(['wrong 1', 'wrong 2', 'wrong 3']);
    expect(t.feedback![2]!.findings).toEqual([{ message: 'no test', file: 'src/a.ts', line: 3, severity: 'high' }]);
    // An operator's retry closes it again.
    const retried = await store.retry(t.id, 'admin');
    expect(retried).toMatchObject({ status: 'queued', breaker: { rejections: 0, expiries: 0, opened_at: null } });
  });

  it('an agent submits with evidence: recorded on the task, which goes to review', async () => {
    const t = await running({ title: 'Add a flag', review: true });
    const evidence = { test_command: 'npm test', test_result: 'passed' as const, commit: 'abc1234', files_changed: ['src/a.ts'], coverage: 91.5 };
    expect(await code(wf.submit(AGENT, t.id, t.generation, { evidence: { ...evidence, commit: 'not-a-sha' } }))).toBe('VALIDATION_FAILED');
    expect(await code(wf.submit(OPERATOR, t.id, t.generation, { evidence }))).toBe('FORBIDDEN');
    const submitted = await wf.submit(AGENT, t.id, t.generation, { evidence, result: { summary: 'done' } });
    expect(submitted).toMatchObject({ status: 'review', evidence, result: { summary: 'done' } });
    expect((await wf.approve(OPERATOR, t.id)).status).toBe('completed');
  });

  it('the operator overrides the gate before the work runs, not while it runs', async () => {
    const t = (await store.create({ title: 'Refactor the session store' }, 'test')).task;
    expect(t.supervision!.mode).toBe('plan');
    const auto = await wf.setSupervision(OPERATOR, t.id, 'auto', 'small after all');
    expect(auto).toMatchObject({ supervision: { mode: 'auto', decided_by: 'admin', reason: 'override: small after all' }, phase: 'implement' });
    const strict = await wf.setSupervision(OPERATOR, t.id, 'strict');
    expect(strict).toMatchObject({ supervision: { mode: 'strict' }, phase: 'plan', chain: ['security'] });
    const r = await running({ title: 'x' });
    expect(await code(wf.setSupervision(OPERATOR, r.id, 'plan'))).toBe('ILLEGAL_TRANSITION');
    expect((await store.verifyIntegrity()).problems).toEqual([]);
  });
});

describe('follow-up work is served ahead of new work in its lane', () => {
  const pick = async () => (await store.leaseNext({ agentId: 'a1', capabilities: [] }))?.title;

  it('a reopened implementation goes before older new work; a higher lane still goes first; kept across a reopen', async () => {
    const t = await running({ title: 'Fix the parser', review: true });
    clock.advance(1000);
    await store.create({ title: 'New work, older' }, 'test');
    await store.create({ title: 'Urgent new work', lane: 'urgent' }, 'test');
    clock.advance(1000);
    await store.complete(t.id, t.generation, 'a0', 'done');
    await wf.reject(OPERATOR, t.id, 'The test does not cover an empty input.');
    // Restarted: the marker is in the store's ready index, not only in memory.
    await store.close();
    store = await openTaskStore(dir, { now: clock.now, autoSweep: false });
    expect((await store.verifyIntegrity()).ok).toBe(true);
    expect(await pick()).toBe('Urgent new work');
    expect(await pick()).toBe('Fix the parser');
    expect(await pick()).toBe('New work, older');
  });

  it('a format-4 store (follow-up work keyed as new work) is migrated on open', async () => {
    const t = await running({ title: 'Fix the parser', review: true });
    await store.create({ title: 'New work, older' }, 'test');
    clock.advance(1000);
    await store.complete(t.id, t.generation, 'a0', 'done');
    const reopened = await wf.reject(OPERATOR, t.id, 'Again, with a test.');
    await store.close();
    // Write it back as format 4 wrote it: the ready key without the follow-up marker.
    const kv = await openLevelKv(dir);
    const marked = K.ready(signatureOf([], null, null, true), reopened.lane, reopened.queued_at!, reopened.id);
    expect(await kv.get(marked)).toBe('');
    await kv.write(
      [
        { type: 'del', key: marked },
        { type: 'put', key: K.ready(signatureOf([], null, null), reopened.lane, reopened.queued_at!, reopened.id), value: '' },
        { type: 'put', key: K.version, value: '4' },
      ],
      true,
    );
    await kv.close();
    store = await openTaskStore(dir, { now: clock.now, autoSweep: false });
    expect((await store.verifyIntegrity()).ok).toBe(true);
    expect(await pick()).toBe('Fix the parser');
  });
});
