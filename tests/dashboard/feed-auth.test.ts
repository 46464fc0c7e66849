/**
 * The feed's token-free-URL auth for browsers: the token in a `bearer.<token>` subprotocol, the hub
 * answering only `switchyard.v1`; a wrong or missing token refused before the upgrade with the
 * stable error body; a token never in a log line, whether it came in the subprotocol or `?token=`;
 * and sidecar sockets (no subprotocol) unchanged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { bearerFromProtocols, chooseProtocol } from '../../shared/feed.js';
import { ADMIN_TOKEN, helloMessage, RawClient, startInprocHub, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub | undefined;
afterEach(async () => h?.close());

function refusal(url: string, protocols: string[]): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.on('open', () => { ws.terminate(); reject(new Error('the feed accepted the connection')); });
    ws.on('error', () => undefined);
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }); ws.terminate(); });
    });
  });
}

describe('the bearer subprotocol', () => {
  it('reads the token from the bearer entry and never chooses it as the answer', () => {
    expect(bearerFromProtocols('switchyard.v1, bearer.sya_abc')).toBe('sya_abc');
    expect(bearerFromProtocols(['switchyard.v1', 'bearer.x'])).toBe('x');
    expect(bearerFromProtocols('switchyard.v1')).toBeNull();
    expect(bearerFromProtocols('bearer.')).toBeNull();
    expect(bearerFromProtocols(undefined)).toBeNull();
    expect(chooseProtocol(new Set(['bearer.secret', 'switchyard.v1']))).toBe('switchyard.v1');
    expect(chooseProtocol(new Set(['bearer.secret']))).toBe(false);
  });

  it('opens the feed with the token in the subprotocol; the hub echoes only switchyard.v1; the logs hold no token', async () => {
    h = await startInprocHub({ listen: true, captureLogs: 'debug' });
    const ws = new WebSocket(`${h.wsUrl}/v1/feed`, ['switchyard.v1', `bearer.${ADMIN_TOKEN}`]);
    const hello = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString()) as Record<string, unknown>));
      ws.once('error', reject);
    });
    expect(hello.type).toBe('hello');
    expect(ws.protocol).toBe('switchyard.v1');
    ws.close();
    // The CLI's ?token= still works, and is redacted in the request log.
    const q = new WebSocket(`${h.wsUrl}/v1/feed?token=${ADMIN_TOKEN}`);
    await new Promise((resolve, reject) => { q.once('message', resolve); q.once('error', reject); });
    q.close();
    const logs = h.logs();
    expect(logs).toContain('/v1/feed?token=[Redacted]');
    expect(logs).not.toContain(ADMIN_TOKEN);
  });

  it('refuses a wrong or missing token before the upgrade, with the stable error body', async () => {
    h = await startInprocHub({ listen: true });
    expect(await refusal(`${h.wsUrl}/v1/feed`, ['switchyard.v1'])).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED', retryable: false } });
    expect(await refusal(`${h.wsUrl}/v1/feed`, ['switchyard.v1', 'bearer.sya_wrong'])).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } });
    const agentToken = await h.addAgent('w1');
    expect(await refusal(`${h.wsUrl}/v1/feed`, ['switchyard.v1', `bearer.${agentToken}`])).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(h.hub.feed.size).toBe(0);
  });

  it('leaves sidecar sockets as they were: no subprotocol, hello by message', async () => {
    h = await startInprocHub({ listen: true });
    const token = await h.addAgent('w1');
    const c = new RawClient(`${h.wsUrl}/v1/agent`);
    await c.opened;
    expect(c.ws.protocol).toBe('');
    c.send(helloMessage('w1', token));
    await expect(c.nextOf('welcome')).resolves.toMatchObject({ type: 'welcome' });
    await c.close();
  });
});
