/**
 * The application services in-process, as the CLI's `up` (and later MCP, ChatOps) call them: the
 * rules every edge shares — who may act, the Idempotency-Key beside a spec, the routing
 * capabilities a task implies — hold without REST in between; and the access rule fails closed
 * for a REST route that names no action.
 */
import Fastify from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installAuth } from '../../hub/api/auth-hook.js';
import { Access, OPERATOR, type Principal } from '../../hub/service/access.js';
import { Authenticator } from '../../hub/auth/authenticator.js';
import { hashToken } from '../../hub/auth/tokens.js';
import { startInprocHub, type InprocHub } from '../support/hub-inproc.js';

const AGENT: Principal = { kind: 'agent', actor: 'agent:w1', agentId: 'w1' };
let h: InprocHub;

beforeEach(async () => {
  h = await startInprocHub();
});
afterEach(async () => {
  await h.close();
});

describe('TaskService', () => {
  it('takes an idempotency key beside the spec, and refuses one that differs from the spec’s own', async () => {
    const { tasks } = h.hub.services;
    const first = await tasks.create(OPERATOR, { title: 'once' }, { idempotencyKey: 'k' });
    expect(first).toMatchObject({ created: true, task: { idempotency_key: 'k', created_by: 'admin' } });
    expect((await tasks.create(OPERATOR, { title: 'once', idempotency_key: 'k' }, { idempotencyKey: 'k' })).created).toBe(false);
    await expect(tasks.create(OPERATOR, { title: 'x', idempotency_key: 'a' }, { idempotencyKey: 'b' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await tasks.list(OPERATOR)).items).toHaveLength(1);
  });

  it('routes a task that names an executor or a model to agents that offer them, alone and in a batch', async () => {
    const { tasks } = h.hub.services;
    const one = (await tasks.create(OPERATOR, { title: 'm', executor: 'ollama', model: 'qwen', capabilities: ['gpu'] })).task;
    expect(one.capabilities).toEqual(['executor:ollama', 'gpu', 'model:qwen']);
    const [b] = await tasks.createMany(OPERATOR, [{ title: 's', executor: 'shell', command: 'true' }]);
    expect(b!.task.capabilities).toEqual(['executor:shell']);
  });

  it('shows a task with its events and why it waits; an unknown id is TASK_NOT_FOUND', async () => {
    const { tasks } = h.hub.services;
    const t = (await tasks.create(OPERATOR, { title: 'shown' })).task;
    const shown = await tasks.show(OPERATOR, t.id);
    expect(shown).toMatchObject({ task: { id: t.id }, progress_tail: null, waiting: 'no agent is connected' });
    expect(shown.events.map((e) => e.to)).toEqual(['queued']);
    await expect(tasks.get(OPERATOR, '01NOSUCH')).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
  });

  it('lets an agent principal do nothing, and writes nothing for it', async () => {
    const { tasks, review, agents } = h.hub.services;
    const t = (await tasks.create(OPERATOR, { title: 't' })).task;
    const refused = [
      tasks.create(AGENT, { title: 'sneaky' }),
      tasks.createMany(AGENT, [{ title: 'sneaky' }]),
      tasks.list(AGENT),
      tasks.get(AGENT, t.id),
      tasks.cancel(AGENT, t.id),
      tasks.retry(AGENT, t.id),
      tasks.events(AGENT),
      review.approve(AGENT, t.id),
      review.reject(AGENT, t.id),
      agents.register(AGENT, { id: 'evil' }),
      agents.list(AGENT),
      agents.remove(AGENT, 'w1', { info: () => undefined, warn: () => undefined }),
    ];
    for (const p of refused) await expect(p).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await tasks.list(OPERATOR)).items.map((x) => x.status)).toEqual(['queued']);
    expect(await agents.list(OPERATOR)).toEqual([]);
  });
});

describe('AgentService', () => {
  it('registers (the token once), shows, rechecks only a connected agent, removes', async () => {
    const { agents } = h.hub.services;
    const { agent, token } = await agents.register(OPERATOR, { id: 'w1', description: 'box' });
    expect(token).toMatch(/^sy_agent_/);
    expect(agent).toMatchObject({ id: 'w1', state: 'offline', tasks: [], description: 'box', created_by: 'admin' });
    expect(agent).not.toHaveProperty('token_hash');
    await expect(agents.recheck(OPERATOR, 'w1')).rejects.toMatchObject({ code: 'AGENT_OFFLINE' });
    await expect(agents.register(OPERATOR, { id: 'w1' })).rejects.toMatchObject({ code: 'AGENT_EXISTS' });
    expect(await agents.remove(OPERATOR, 'w1', { info: () => undefined, warn: () => undefined })).toBe(0);
    await expect(agents.get(OPERATOR, 'w1')).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' });
  });
});

describe('the access rule on REST', () => {
  it('refuses, at start, a route that is neither public nor names its action', async () => {
    const app = Fastify();
    installAuth(app, new Access(new Authenticator(hashToken('sya_x'))));
    expect(() => app.get('/v1/oops', async () => ({}))).toThrow(/names no action/);
    app.get('/v1/fine', { config: { action: 'tasks.read' } }, async () => ({}));
    app.get('/v1/open', { config: { public: true } }, async () => ({}));
    await app.close();
  });
});
