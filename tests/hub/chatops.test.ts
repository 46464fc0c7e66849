/**
 * ChatOps over Slack, with a fake Slack that signs its slash commands as Slack documents
 * (api.slack.com/authentication/verifying-requests-from-slack: HMAC-SHA256 over
 * `v0:<timestamp>:<body>`), sends them form-encoded as Slack does, and takes the answers that
 * arrive later at the command's response_url and the alerts posted to an incoming webhook.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { slackSignature } from '../../hub/chatops/slack-signature.js';
import { COMMANDS } from '../../hub/chatops/commands.js';
import { startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';

const SECRET = 'slack-signing-secret-8f3a';
let h: InprocHub | null = null;
let slack: FakeSlack | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
  await slack?.close();
  slack = null;
});

interface FakeSlack {
  url: string;
  /** JSON bodies posted to it (response_url answers and webhook alerts), by path. */
  posts: Array<{ path: string; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

async function fakeSlack(): Promise<FakeSlack> {
  const posts: FakeSlack['posts'] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '/', body: JSON.parse(text) as Record<string, unknown> });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, posts, close: () => new Promise((r) => server.close(() => r())) };
}

/** A slash command as Slack sends it: the form, signed. */
function command(hub: InprocHub, text: string, user = 'U0OPERATOR', over: { timestamp?: number; secret?: string; body?: string } = {}) {
  const form = new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0001',
    team_domain: 'acme',
    channel_id: 'C2147483705',
    channel_name: 'fleet',
    user_id: user,
    user_name: user.toLowerCase(),
    command: '/switchyard',
    text,
    response_url: `${slack!.url}/commands/1234/5678`,
    trigger_id: '13345224609.738474920.8088930838d88f008e0',
    api_app_id: 'A123456',
  }).toString();
  const body = over.body ?? form;
  const timestamp = String(over.timestamp ?? Math.floor(Date.now() / 1000));
  return hub.hub.app.inject({
    method: 'POST',
    url: '/v1/chatops/slack',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': slackSignature(over.secret ?? SECRET, timestamp, form) },
    payload: body,
  });
}

async function hubWithSlack(extra: Record<string, unknown> = {}): Promise<InprocHub> {
  slack = await fakeSlack();
  h = await startInprocHub({
    listen: true,
    config: { slackSigningSecret: SECRET, slackUsers: ['U0OPERATOR=operator', 'U0ADMIN=admin'], slackResponseHosts: ['127.0.0.1'], ...extra },
  });
  return h;
}

describe('Slack slash commands', () => {
  it('signed commands run with the user’s role and answer in Slack’s format; an unmapped user is a viewer', async () => {
    const hub = await hubWithSlack();
    const created = await hub.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: hub.auth(), payload: { title: 'nightly build', executor: 'shell', command: 'make', max_attempts: 1 } });
    const id = (created.json() as { id: string }).id;

    const status = await command(hub, 'status');
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/\*Queue:\* 1 queued/) });
    expect((await command(hub, 'tasks queued')).json().text).toContain(`\`${id}\` queued`);
    expect((await command(hub, `task ${id}`)).json().text).toContain('nightly build');

    // The operator cancels; the task's history names the Slack user.
    expect((await command(hub, `cancel ${id}`)).json().text).toMatch(/^cancelled: /);
    const shown = await hub.hub.app.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: hub.auth() });
    expect((shown.json() as { events: Array<{ actor: string }> }).events.at(-1)!.actor).toBe('slack:u0operator');

    // Someone not in slackUsers reads, but may not change anything.
    expect((await command(hub, `tasks`, 'U0STRANGER')).json().text).toContain(id);
    const refused = (await command(hub, `retry ${id}`, 'U0STRANGER')).json().text as string;
    expect(refused).toMatch(/^FORBIDDEN: a viewer token may not do tasks.write/);
    // Unknown commands and bad input answer with help, not an error page.
    expect((await command(hub, 'frobnicate')).json().text).toMatch(/^unknown command `frobnicate`/);
    expect((await command(hub, 'task')).json().text).toBe('VALIDATION_FAILED: missing a task ID');
    expect((await command(hub, '')).json().text).toContain('`reject ID reason`');
    expect(Object.keys(COMMANDS).sort()).toEqual(['ack', 'agent', 'alerts', 'answer', 'approve', 'cancel', 'dlq', 'help', 'reject', 'retry', 'status', 'task', 'tasks']);
  });

  it('a bad, missing, stale or replayed signature is refused, and nothing is done', async () => {
    const hub = await hubWithSlack();
    const before = (await hub.store.stats()).queued;
    const tasksAfter = async () => (await hub.hub.app.inject({ method: 'GET', url: '/v1/tasks', headers: hub.auth() })).json().tasks.length as number;
    const n = await tasksAfter();
    expect((await command(hub, 'status', 'U0ADMIN', { secret: 'not-the-secret' })).statusCode).toBe(401);
    expect((await command(hub, 'status', 'U0ADMIN', { timestamp: Math.floor(Date.now() / 1000) - 301 })).json()).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringContaining('more than five minutes old') });
    // A body changed after signing (a man in the middle turning `status` into `cancel …`).
    const tampered = await command(hub, 'status', 'U0ADMIN', { body: new URLSearchParams({ user_id: 'U0ADMIN', text: 'cancel 01X' }).toString() });
    expect(tampered.statusCode).toBe(401);
    const unsigned = await hub.hub.app.inject({ method: 'POST', url: '/v1/chatops/slack', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'text=status' });
    expect(unsigned.json()).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringContaining('missing') });
    // The same signed request twice: the second is a replay.
    const ts = Math.floor(Date.now() / 1000);
    expect((await command(hub, 'status', 'U0ADMIN', { timestamp: ts })).statusCode).toBe(200);
    expect((await command(hub, 'status', 'U0ADMIN', { timestamp: ts })).json()).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringContaining('replay') });
    expect(await tasksAfter()).toBe(n);
    expect((await hub.store.stats()).queued).toEqual(before);
  });

  it('a hub without a signing secret has no ChatOps (404)', async () => {
    h = await startInprocHub();
    const res = await h.hub.app.inject({ method: 'POST', url: '/v1/chatops/slack', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'text=status' });
    expect(res.statusCode).toBe(404);
  });

  it('work longer than Slack waits is answered at once, and its result posted to the response_url', async () => {
    slack = await fakeSlack();
    h = await startInprocHub({ listen: true, config: { slackSigningSecret: SECRET, slackUsers: ['U0ADMIN=admin'], slackResponseHosts: ['127.0.0.1'] } });
    // A slow list stands for long work: it takes 3 s, past the 2.5 s the hub allows itself before Slack's 3 s.
    const hub = h;
    const list = hub.hub.services.tasks.list.bind(hub.hub.services.tasks);
    hub.hub.services.tasks.list = async (...args) => {
      await new Promise((r) => setTimeout(r, 3_000));
      return list(...args);
    };
    const first = await command(hub, 'dlq', 'U0ADMIN');
    expect(first.json()).toEqual({ response_type: 'ephemeral', text: 'Working on it…' });
    const later = await waitFor(() => slack!.posts.find((p) => p.path === '/commands/1234/5678'), 'the late answer', 10_000);
    expect(later!.body).toEqual({ response_type: 'ephemeral', replace_original: false, text: 'nothing is dead-lettered' });
  }, 20_000);
});

describe('alerts to a Slack incoming webhook', () => {
  it('a firing alert is posted to the webhook', async () => {
    slack = await fakeSlack();
    h = await startInprocHub({ listen: true, config: { slackWebhookUrl: `${slack.url}/services/T000/B000/XXXX`, alertCheckMs: 50, alertNoAgentMs: 0 } });
    const posted = await waitFor(() => slack!.posts.find((p) => p.path === '/services/T000/B000/XXXX'), 'the alert post');
    expect(posted!.body.text).toMatch(/^\*CRITICAL\* No agent online: /);
  });
});
