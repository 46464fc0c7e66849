/**
 * The sidecar against a hub that answers a result with a retryable error (as a hub whose store is
 * failing does): the result is kept and sent again, on the same connection, until acknowledged.
 * The "hub" here is a plain ws server speaking the protocol by hand.
 */
import { afterEach, expect, test } from 'vitest';
import { join } from 'node:path';
import { pino } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { loadSidecarConfig } from '../../sidecar/config.js';
import { buildExecutors } from '../../sidecar/executor-set.js';
import { Sidecar } from '../../sidecar/sidecar.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { tempDir, waitFor } from '../support/processes.js';

let server: WebSocketServer | null = null;
let sidecar: Sidecar | null = null;
afterEach(async () => {
  await sidecar?.stop();
  sidecar = null;
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

const TASK = {
  id: '01TESTTASK0000000000000000', title: 'echo', description: '', context: {}, success_criteria: [], verification: [],
  complexity: 'trivial', complexity_reason: 'shell command', capabilities: ['executor:shell'], repo: null, lane: 'normal',
  depends_on: [], idempotency_key: null, max_attempts: 3, timeouts: { start_ms: 60_000, lease_ms: 60_000, overall_ms: 60_000 },
  run_at: null, review: false, executor: 'shell', command: 'echo hi', model: null, agent: null, delegate: null, dependants: [],
  event_ids: [], created_by: 'admin', metadata: {}, status: 'assigned', generation: 1, attempts: 0, lease: null,
  created_at: 0, updated_at: 0, queued_at: null, next_run_at: null, last_error: null, result: null,
};

test('an accept answered twice (a resend after a retryable error and one after a reconnect) runs the task once', async () => {
  const frames: Array<{ conn: number; msg: Record<string, unknown> }> = [];
  let conns = 0;
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => server!.once('listening', r));
  const port = (server.address() as { port: number }).port;
  server.on('connection', (ws: WebSocket) => {
    const conn = ++conns;
    let accepts = 0;
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Record<string, unknown>;
      frames.push({ conn, msg });
      if (msg.type === 'hello') {
        ws.send(JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION, agent_id: 'w1', heartbeat_ms: 10_000 }));
        if (conn === 1) ws.send(JSON.stringify({ type: 'task.assign', task: TASK, generation: 1, lease_expires_at: Date.now() + 60_000 }));
        else ws.send(JSON.stringify({ type: 'task.resume', task_id: TASK.id, generation: 1, task: TASK }));
      } else if (msg.type === 'task.accept') {
        accepts++;
        if (conn === 1 && accepts === 1) {
          // The hub is going down: a retryable refusal, then the socket closes.
          ws.send(JSON.stringify({ type: 'error', id: msg.id, code: 'HUB_SHUTTING_DOWN', message: 'restarting', retryable: true }));
          setTimeout(() => ws.close(1001, 'hub shutting down'), 50);
        } else {
          ws.send(JSON.stringify({ type: 'ack', id: msg.id }));
        }
      } else if (msg.type === 'task.complete' || msg.type === 'task.fail') {
        ws.send(JSON.stringify({ type: 'ack', id: msg.id }));
      }
    });
  });
  const cfg = loadSidecarConfig({ hubUrl: `http://127.0.0.1:${port}`, agentId: 'w1', token: 't', dataDir: join(tempDir('twice'), 'sc') }, {});
  sidecar = new Sidecar(cfg, buildExecutors(cfg), pino({ enabled: false }));
  await sidecar.start();
  await waitFor('the result acknowledged', () => frames.some((f) => f.msg.type === 'task.complete') && sidecar!.held().length === 0, 15_000);
  // Wait past the retry delay: a stray resend must not start a second run.
  await new Promise((r) => setTimeout(r, 2500));
  expect(frames.filter((f) => f.msg.type === 'task.complete')).toHaveLength(1);
  expect(frames.filter((f) => f.msg.type === 'task.fail')).toHaveLength(0);
  expect(conns).toBe(2);
});

test('a result refused with a retryable error is sent again until the hub acknowledges it', async () => {
  const frames: Array<Record<string, unknown>> = [];
  let completes = 0;
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => server!.once('listening', r));
  const port = (server.address() as { port: number }).port;
  const task = TASK;
  server.on('connection', (ws: WebSocket) => {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Record<string, unknown>;
      frames.push(msg);
      if (msg.type === 'hello') {
        ws.send(JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION, agent_id: 'w1', heartbeat_ms: 10_000 }));
        ws.send(JSON.stringify({ type: 'task.assign', task, generation: 1, lease_expires_at: Date.now() + 60_000 }));
      } else if (msg.type === 'task.accept') {
        ws.send(JSON.stringify({ type: 'ack', id: msg.id }));
      } else if (msg.type === 'task.complete') {
        completes++;
        const reply = completes === 1
          ? { type: 'error', id: msg.id, code: 'STORE_FAILED', message: 'disk full', retryable: true }
          : { type: 'ack', id: msg.id };
        ws.send(JSON.stringify(reply));
      }
    });
  });
  const cfg = loadSidecarConfig({ hubUrl: `http://127.0.0.1:${port}`, agentId: 'w1', token: 't', dataDir: join(tempDir('retry'), 'sc') }, {});
  sidecar = new Sidecar(cfg, buildExecutors(cfg), pino({ enabled: false }));
  await sidecar.start();
  await waitFor('the result acknowledged', () => completes === 2 && sidecar!.held().length === 0, 15_000);
  const results = frames.filter((f) => f.type === 'task.complete');
  expect(results).toHaveLength(2);
  // The same message (same id) was sent again: the hub can tell a resend from a new result.
  expect(results[0]!.id).toBe(results[1]!.id);
  expect((results[1]!.result as { output_tail: string }).output_tail).toContain('hi');
  // One connection throughout: the resend did not wait for a reconnect.
  expect(frames.filter((f) => f.type === 'hello')).toHaveLength(1);
});
