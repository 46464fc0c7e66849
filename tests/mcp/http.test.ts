/**
 * The MCP server over streamable HTTP, driven by the official SDK's own client against a real hub
 * on 127.0.0.1: an external agent (an agent token) claims a task, renews its lease, asks a
 * question that an architect (the admin token) answers, claims it again, submits with evidence,
 * and the architect approves. Fencing (a stale generation, another agent's lease), scope
 * refusals both ways, malformed arguments, and the MCP client named in the audit log.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../shared/task.js';
import { TOOL_SCOPES } from '../../hub/mcp/scopes.js';
import { closeAfterEach } from '../support/cleanup.js';
import { startInprocHub, type InprocHub } from '../support/hub-inproc.js';

const closing = closeAfterEach();
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

async function connect(h: InprocHub, token: string, name: string): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${h.url}/v1/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  clients.push(client);
  return client;
}

interface ToolAnswer {
  ok: boolean;
  body: any;
}

async function tool(c: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> {
  const res = (await c.callTool({ name, arguments: args })) as { isError?: boolean; content: Array<{ type: string; text: string }> };
  const text = res.content[0]?.text ?? '';
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // The SDK's own validation errors are plain text.
  }
  return { ok: res.isError !== true, body };
}

describe('MCP over streamable HTTP', () => {
  it('an external agent claims, renews, asks, is answered, submits with evidence; an architect approves', async () => {
    const h = closing(await startInprocHub({ listen: true }));
    const agentToken = await h.addAgent('ext-1');
    const worker = await connect(h, agentToken, 'test-worker');
    const architect = await connect(h, h.adminToken, 'test-architect');

    const listed = (await worker.listTools()).tools.map((t) => t.name).sort();
    expect(listed).toEqual(Object.keys(TOOL_SCOPES).sort());
    expect(listed).toHaveLength(15);

    // The architect creates two tasks in one call, the second depending on the first.
    const created = await tool(architect, 'create_task', {
      tasks: [
        { ref: 'impl', title: 'Add the divide operator', repo: 'calc', review: true, supervision: 'auto', context: { files: ['src/ops.ts'] } },
        { ref: 'docs', title: 'Document divide', repo: 'calc', depends_on: ['impl'], supervision: 'auto' },
      ],
    });
    expect(created.ok).toBe(true);
    const [impl, docs] = created.body.tasks as Array<{ id: string; ref: string; status: string; depends_on: string[] }>;
    expect(impl).toMatchObject({ ref: 'impl', status: 'queued' });
    expect(docs).toMatchObject({ ref: 'docs', status: 'pending', depends_on: [impl!.id] });

    // Claim: the only ready one is impl; it runs with a lease.
    const claimed = await tool(worker, 'claim_task', { repos: ['calc'] });
    expect(claimed.ok).toBe(true);
    const task = claimed.body.task;
    expect(task).toMatchObject({ id: impl!.id, status: 'running', lease: { agent_id: 'ext-1' } });
    const gen = task.generation as number;
    expect((await tool(worker, 'claim_task')).body).toEqual({ task: null });

    const renewed = await tool(worker, 'renew_lease', { task_id: impl!.id, generation: gen });
    expect(renewed).toMatchObject({ ok: true, body: { generation: gen } });
    // Fencing: a stale generation is refused with the stable code, nothing changed.
    const stale = await tool(worker, 'renew_lease', { task_id: impl!.id, generation: gen - 1 });
    expect(stale.ok).toBe(false);
    expect(stale.body.code).toBe('STALE_GENERATION');
    // Another agent's token cannot touch this lease.
    const other = await connect(h, await h.addAgent('ext-2'), 'other-worker');
    expect((await tool(other, 'renew_lease', { task_id: impl!.id, generation: gen })).body.code).toBe('NOT_LEASE_HOLDER');
    expect((await tool(other, 'submit_for_review', { task_id: impl!.id, generation: gen, summary: 'mine now' })).body.code).toBe('NOT_LEASE_HOLDER');
    expect((await tool(other, 'check_task_status', { task_id: impl!.id })).body.code).toBe('NOT_LEASE_HOLDER');

    // A question blocks the task; the architect answers; the answer reaches the next claim.
    const asked = await tool(worker, 'ask_clarification', { task_id: impl!.id, generation: gen, question: 'Integer or float division?', options: ['integer', 'float'] });
    expect(asked.body).toEqual({ task_id: impl!.id, status: 'blocked' });
    expect((await tool(worker, 'check_task_status', { task_id: impl!.id })).body.task.status).toBe('blocked');
    expect((await tool(architect, 'respond_to_blocker', { task_id: impl!.id, answer: 'float, like JavaScript' })).body.status).toBe('queued');
    const again = (await tool(worker, 'claim_task', { task_id: impl!.id })).body.task;
    expect(again.generation).toBeGreaterThan(gen);
    expect(again.clarifications[0]).toMatchObject({ question: 'Integer or float division?', answer: 'float, like JavaScript' });
    expect(again.assembled_context).toContain('float, like JavaScript');
    const hist = await tool(worker, 'get_task_history', { task_id: impl!.id });
    expect(hist.body.clarifications).toHaveLength(1);

    // Submit with evidence: to review (the task asked for it); the old generation is refused.
    const evidence = { test_command: 'npm test', test_result: 'passed', commit: 'abcdef1234', files_changed: ['src/ops.ts'] };
    expect((await tool(worker, 'submit_for_review_with_evidence', { task_id: impl!.id, generation: gen, evidence })).body.code).toBe('STALE_GENERATION');
    const submitted = await tool(worker, 'submit_for_review_with_evidence', { task_id: impl!.id, generation: again.generation, evidence });
    expect(submitted.body).toMatchObject({ status: 'review', evidence: { commit: 'abcdef1234' } });

    // Scope: a worker cannot approve; an architect cannot claim.
    const refused = await tool(worker, 'approve_work', { task_id: impl!.id });
    expect(refused.ok).toBe(false);
    expect(refused.body).toMatchObject({ code: 'FORBIDDEN', details: { scope: 'architect' } });
    expect((await tool(architect, 'claim_task')).body).toMatchObject({ code: 'FORBIDDEN', details: { scope: 'worker' } });

    expect((await tool(architect, 'approve_work', { task_id: impl!.id, note: 'good' })).body.status).toBe('completed');
    // Its dependant is released.
    expect((await h.store.get(docs!.id))?.status).toBe('queued');

    // The audit log names the MCP client for the architect's changes.
    const events = (await h.store.events({ taskId: impl!.id, limit: 100 })).items as TaskEvent[];
    expect(events.find((e) => e.to === 'completed')?.actor).toBe('admin via mcp:test-architect');
    expect(events.find((e) => e.from === 'blocked' && e.to === 'queued')?.actor).toBe('admin via mcp:test-architect');
    expect(events.find((e) => e.to === 'running')?.actor).toBe('agent:ext-1');

    // The finished task is history now, readable by the worker tool of the next task.
    const docsClaim = (await tool(worker, 'claim_task')).body.task;
    expect(docsClaim.id).toBe(docs!.id);
    const docsHistory = await tool(worker, 'get_task_history', { task_id: docs!.id });
    expect(docsHistory.body.project_history.map((e: { task_id: string }) => e.task_id)).toContain(impl!.id);
  });

  it('refuses malformed arguments, bad tokens and other tokens\' sessions with clear errors', async () => {
    const h = closing(await startInprocHub({ listen: true }));
    const worker = await connect(h, await h.addAgent('ext-1'), 'w');
    const architect = await connect(h, h.adminToken, 'a');

    const malformed = await tool(worker, 'renew_lease', { task_id: 'X', generation: 'one' });
    expect(malformed.ok).toBe(false);
    expect(String(malformed.body)).toMatch(/generation/);
    const noSpec = await tool(architect, 'create_task', {});
    expect(noSpec.body.code).toBe('VALIDATION_FAILED');
    const badSpec = await tool(architect, 'create_task', { task: { title: '', lane: 'sideways' } });
    expect(badSpec.body.code).toBe('VALIDATION_FAILED');
    expect((await tool(architect, 'cancel_task', { task_id: '01NOSUCHTASK' })).body.code).toBe('TASK_NOT_FOUND');
    expect((await tool(architect, 'sweep_stale_leases')).body).toEqual({ requeued: 0 });

    // No token, a wrong one: 401 before any MCP.
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
    const headers = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
    expect((await fetch(`${h.url}/v1/mcp`, { method: 'POST', headers, body: JSON.stringify(init) })).status).toBe(401);
    expect((await fetch(`${h.url}/v1/mcp`, { method: 'POST', headers: { ...headers, authorization: 'Bearer nope' }, body: JSON.stringify(init) })).status).toBe(401);
    // A session opened with one token cannot be used with another.
    const opened = await fetch(`${h.url}/v1/mcp`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${h.adminToken}` }, body: JSON.stringify(init) });
    const session = opened.headers.get('mcp-session-id')!;
    expect(session).toBeTruthy();
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    const hijack = await fetch(`${h.url}/v1/mcp`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${await h.addAgent('ext-3')}`, 'mcp-session-id': session }, body: JSON.stringify(list) });
    expect(hijack.status).toBe(403);
    expect(((await hijack.json()) as { code: string }).code).toBe('FORBIDDEN');
  });
});
