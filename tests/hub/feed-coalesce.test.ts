/**
 * The feed's coalesced frames (Feed.publishLatest): within one turn only the newest state of a
 * key goes out, in the place of the first; a subscriber that joined after that place still gets
 * the newest. Real WebSockets on 127.0.0.1.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { Feed } from '../../hub/gateway/feed.js';
import type { FeedMessage } from '../../shared/feed.js';

let server: WebSocketServer | null = null;
afterEach(async () => {
  if (server) await new Promise((r) => server!.close(r));
  server = null;
});

const progress = (n: number): FeedMessage => ({ type: 'store.health', healthy: true, at: n });

async function subscribe(feed: Feed): Promise<{ got: FeedMessage[]; client: WebSocket }> {
  const port = (server!.address() as AddressInfo).port;
  const accepted = once(server!, 'connection');
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  const got: FeedMessage[] = [];
  client.on('message', (data) => got.push(JSON.parse(String(data)) as FeedMessage));
  const [ws, req] = (await accepted) as [WebSocket, { socket: import('node:net').Socket }];
  await once(client, 'open');
  feed.add(ws, progress(0), req.socket);
  return { got, client };
}

const settle = () => new Promise((r) => setTimeout(r, 100));

describe('Feed.publishLatest', () => {
  it('sends the newest state of a key once per turn, in the place of the first, built once', async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const feed = new Feed();
    const a = await subscribe(feed);
    let builds = 0;
    const latest = (n: number) => () => {
      builds++;
      return progress(n);
    };
    feed.publishLatest('k', latest(1));
    feed.publish(progress(100));
    feed.publishLatest('k', latest(2));
    feed.publishLatest('k', latest(3));
    await settle();
    expect(a.got.map((m) => (m as { at: number }).at)).toEqual([0, 3, 100]);
    expect(builds).toBe(1);
    a.client.close();
  });

  it('appends instead when a subscriber joined after the first (its snapshot is older than the change)', async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const feed = new Feed();
    const a = await subscribe(feed);
    // All in one turn: the second subscriber is added between two changes of the same key.
    const port = (server.address() as AddressInfo).port;
    const accepted = once(server, 'connection');
    const late = new WebSocket(`ws://127.0.0.1:${port}`);
    const lateGot: FeedMessage[] = [];
    late.on('message', (data) => lateGot.push(JSON.parse(String(data)) as FeedMessage));
    const [ws, req] = (await accepted) as [WebSocket, { socket: import('node:net').Socket }];
    await once(late, 'open');
    feed.publishLatest('k', () => progress(1));
    feed.add(ws, progress(50), req.socket);
    feed.publish(progress(100));
    feed.publishLatest('k', () => progress(2));
    await settle();
    expect(lateGot.map((m) => (m as { at: number }).at)).toEqual([50, 100, 2]);
    expect(a.got.map((m) => (m as { at: number }).at)).toEqual([0, 1, 100, 2]);
    a.client.close();
    late.close();
  });
});
