/**
 * `switchyard mcp` over stdio (a real child process, dist/cli/switchyard.js), driven by the
 * SDK's own stdio client against a real hub: the same tools as over HTTP, the token from the
 * environment, the client's name reaching the audit log through the relay, and a clear
 * answer when the hub is not there.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { TOOL_SCOPES } from '../../hub/mcp/scopes.js';
import { closeAfterEach } from '../support/cleanup.js';
import { startInprocHub } from '../support/hub-inproc.js';
import { CLI } from '../support/processes.js';

const closing = closeAfterEach();
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

async function stdioClient(hub: string, token: string, name: string): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  const env = { PATH: process.env.PATH ?? '', SWITCHYARD_MCP_TOKEN: token };
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--hub', hub], env, stderr: 'pipe' }));
  clients.push(client);
  return client;
}

function parsed(res: unknown): { ok: boolean; body: any } {
  const r = res as { isError?: boolean; content: Array<{ text: string }> };
  return { ok: r.isError !== true, body: JSON.parse(r.content[0]!.text) };
}

describe('switchyard mcp (stdio)', () => {
  it('serves the hub tools: an agent claims and submits, an architect rejects with feedback, then approves', async () => {
    const h = closing(await startInprocHub({ listen: true }));
    const worker = await stdioClient(h.url, await h.addAgent('stdio-1'), 'stdio-worker');
    const architect = await stdioClient(h.url, h.adminToken, 'stdio-architect');
    expect((await worker.listTools()).tools.map((t) => t.name).sort()).toEqual(Object.keys(TOOL_SCOPES).sort());

    const created = parsed(await architect.callTool({ name: 'create_task', arguments: { task: { title: 'Add modulo', repo: 'calc', review: true, supervision: 'auto' } } }));
    const id = created.body.tasks[0].id as string;
    const claim = parsed(await worker.callTool({ name: 'claim_task', arguments: {} })).body.task;
    expect(claim).toMatchObject({ id, status: 'running' });
    expect(parsed(await worker.callTool({ name: 'submit_for_review', arguments: { task_id: id, generation: claim.generation, summary: 'added %' } })).body.status).toBe('review');

    // Rejected with feedback: reopened, and the next claim carries the feedback in its context.
    expect(parsed(await architect.callTool({ name: 'reject_work', arguments: { task_id: id, feedback: 'handle negative operands', findings: [{ message: 'sign of -7 % 3', file: 'src/ops.ts' }] } })).body.status).toBe('queued');
    const again = parsed(await worker.callTool({ name: 'claim_task', arguments: { task_id: id } })).body.task;
    expect(again.feedback[0]).toMatchObject({ text: 'handle negative operands' });
    expect(again.assembled_context).toContain('handle negative operands');
    expect(parsed(await worker.callTool({ name: 'submit_for_review_with_evidence', arguments: { task_id: id, generation: again.generation, evidence: { test_result: 'passed' } } })).body.status).toBe('review');
    expect(parsed(await architect.callTool({ name: 'approve_work', arguments: { task_id: id } })).body.status).toBe('completed');

    const events = (await h.store.events({ taskId: id, limit: 100 })).items;
    expect(events.find((e) => e.to === 'completed')?.actor).toBe('admin via mcp:stdio-architect');
    // Scope refusal through the relay too.
    expect(parsed(await worker.callTool({ name: 'cancel_task', arguments: { task_id: id } })).body.code).toBe('FORBIDDEN');
  }, 60_000);

  it('answers a clear error when the hub is not reachable', async () => {
    const h = await startInprocHub({ listen: true });
    const url = h.url;
    await h.close();
    const client = new Client({ name: 'lonely', version: '1.0.0' });
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--hub', url], env: { PATH: process.env.PATH ?? '', SWITCHYARD_MCP_TOKEN: 'x' }, stderr: 'pipe' });
    await expect(client.connect(transport)).rejects.toThrow(/switchyard hub at http:\/\/127\.0\.0\.1:\d+/);
    await client.close();
  }, 60_000);
});
