/**
 * The wire contracts defined once (shared/rest.ts, shared/task.ts, shared/protocol.ts,
 * shared/errors.ts), at their edges: query strings convert plain digits only and refuse unknown
 * parameters, a task's env names are checked, `task.assign` carries the Task schema but needs
 * only what a sidecar reads, and errors keep their cause off the wire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, SwitchyardError, taskFailure } from '../../shared/errors.js';
import { parseHubMessage } from '../../shared/protocol.js';
import { startInprocHub, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub;
beforeAll(async () => {
  h = await startInprocHub();
  await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'one' } });
});
afterAll(async () => {
  await h.close();
});

const get = (url: string) => h.hub.app.inject({ method: 'GET', url, headers: h.auth() });

describe('query strings', () => {
  it('take an integer as plain decimal digits only', async () => {
    expect((await get('/v1/tasks?limit=007')).statusCode).toBe(200);
    expect((await get('/v1/events?since=0&limit=1')).statusCode).toBe(200);
    for (const limit of ['1e2', '0x10', '%205', '5.0', '-1', '']) {
      const res = await get(`/v1/tasks?limit=${limit}`);
      expect({ limit, status: res.statusCode, code: res.json().code }).toEqual({ limit, status: 400, code: 'VALIDATION_FAILED' });
      expect(res.json().message).toMatch(/query\.limit/);
    }
  });

  it('refuse a parameter they do not know (a typo is not a filter that matches everything)', async () => {
    const res = await get('/v1/tasks?stauts=queued');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', message: "query: unknown field 'stauts'" });
    expect(res.json().details.errors[0]).toMatchObject({ in: 'query', path: '/stauts' });
  });
});

describe('bodies', () => {
  it("check a task's env names, which a Record's key pattern alone does not", async () => {
    const post = (env: Record<string, string>) => h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'e', env } });
    expect((await post({ GOOD_NAME: 'v' })).statusCode).toBe(201);
    const bad = await post({ '1BAD': 'v' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/env.*1BAD/);
    // The store refuses it too, for in-process callers.
    await expect(h.store.create({ title: 'e', env: { 'A-B': 'v' } }, 'test')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('task.assign', () => {
  const task = {
    id: '01TASK', title: 't', description: '', context: {}, success_criteria: [], verification: [], max_attempts: 3,
    command: 'true', model: null, repo: null, executor: 'shell', timeouts: { start_ms: 1, lease_ms: 1, overall_ms: 1 },
  };
  const assign = (t: Record<string, unknown>) => JSON.stringify({ type: 'task.assign', task: t, generation: 1, lease_expires_at: 1 });

  it('needs only the fields a sidecar reads (a hub from before a field, or after one, still speaks protocol 1)', () => {
    expect(parseHubMessage(assign(task))).toMatchObject({ type: 'task.assign', task: { id: '01TASK' } });
    expect(parseHubMessage(assign({ ...task, some_later_field: 1 }))).toMatchObject({ type: 'task.assign' });
  });

  it('checks every field it carries against the Task schema', () => {
    const { title: _t, ...untitled } = task;
    expect(() => parseHubMessage(assign(untitled))).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    expect(() => parseHubMessage(assign({ ...task, verification: [{ type: 'rm_rf' }] }))).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    expect(() => parseHubMessage(assign({ ...task, status: 'sleeping' }))).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});

describe('errors', () => {
  it('keep the error they wrap as cause, which never crosses the wire', () => {
    const disk = new Error('ENOSPC: no space left on device');
    const err = new SwitchyardError('STORE_FAILED', 'writing to the store failed', undefined, { cause: disk });
    expect(err.cause).toBe(disk);
    expect(err.toWire()).toEqual({ code: 'STORE_FAILED', message: 'writing to the store failed', retryable: true });
    expect(new SwitchyardError('INTERNAL', 'x').cause).toBeUndefined();
  });

  it('a task failure takes its retryability from the table unless told', () => {
    expect(taskFailure('VERIFICATION_FAILED', 'm')).toEqual({ code: 'VERIFICATION_FAILED', message: 'm', retryable: ERROR_CODES.VERIFICATION_FAILED.retryable });
    expect(taskFailure('SUBMIT_FAILED', 'm', false).retryable).toBe(false);
  });
});
