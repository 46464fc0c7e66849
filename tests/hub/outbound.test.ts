/** hub/gateway/outbound.ts: the frames of one tick share one cork of the socket; a close is final. */
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { Outbound } from '../../hub/gateway/outbound.js';

function fakeSocket() {
  const events: string[] = [];
  const ws = {
    OPEN: 1,
    readyState: 1,
    send: (data: string) => events.push(`send ${(JSON.parse(data) as { id: string }).id}`),
    close: (code: number) => events.push(`close ${code}`),
    terminate: () => events.push('terminate'),
  };
  const transport = { cork: () => events.push('cork'), uncork: () => events.push('uncork') };
  return { ws: ws as unknown as WebSocket, transport, events };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('Outbound', () => {
  it('corks once per tick, whatever the number of frames, and uncorks after the tick', async () => {
    const { ws, transport, events } = fakeSocket();
    const out = new Outbound(ws, transport, () => undefined);
    out.send({ type: 'ack', id: 'a' });
    out.send({ type: 'ack', id: 'b' });
    await Promise.resolve().then(() => out.send({ type: 'ack', id: 'c' })); // a promise callback of the same tick
    expect(events).toEqual(['cork', 'send a', 'send b', 'send c']);
    await tick();
    expect(events.slice(4)).toEqual(['uncork']);
    out.send({ type: 'ack', id: 'd' });
    await tick();
    expect(events.slice(5)).toEqual(['cork', 'send d', 'uncork']);
  });

  it('sends each frame on its own without a transport', () => {
    const { ws, events } = fakeSocket();
    const out = new Outbound(ws, undefined, () => undefined);
    out.send({ type: 'ack', id: 'a' });
    out.send({ type: 'ack', id: 'b' });
    expect(events).toEqual(['send a', 'send b']);
  });

  it('closes once, telling its owner first; an abandoned connection is closing too', () => {
    const { ws, events } = fakeSocket();
    let told = 0;
    const out = new Outbound(ws, undefined, () => told++);
    out.close(4009, 'replaced');
    out.close(4010, 'removed');
    expect(told).toBe(1);
    expect(events).toEqual(['close 4009']);
    expect(out.closing).toBe(true);
    const other = new Outbound(fakeSocket().ws, undefined, () => told++);
    other.abandon();
    expect(other.closing).toBe(true);
    expect(told).toBe(2);
  });
});
