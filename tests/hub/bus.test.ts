/**
 * The hub's event bus: the EventBus itself (order, unsubscribing during an event, a throwing
 * listener isolated), and on a real hub what the features hear and when they stop: task and
 * agent changes from their sources, store health when the store stops taking writes, alerts, and
 * nothing after close (no EXECUTOR_GONE alert for a fleet that is only shutting down).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, type HubEvents } from '../../hub/service/bus.js';
import { RawClient, startInprocHub, waitFor, type InprocHub } from '../support/hub-inproc.js';

describe('EventBus', () => {
  it('delivers in subscription order, and an unsubscribe takes effect from the next event', () => {
    const bus = new EventBus<{ n: number }>();
    const got: string[] = [];
    const offB = bus.on('n', (n) => got.push(`b${n}`));
    bus.on('n', (n) => {
      got.push(`c${n}`);
      offB(); // during the event: b already heard this one, and hears no more
    });
    bus.emit('n', 1);
    bus.emit('n', 2);
    expect(got).toEqual(['b1', 'c1', 'c2']);
    expect(bus.count('n')).toBe(1);
  });

  it('a listener that throws is reported, and the others still hear the event', () => {
    const errors: unknown[] = [];
    const bus = new EventBus<{ n: number }>((err) => errors.push(err));
    const got: number[] = [];
    bus.on('n', () => {
      throw new Error('feature bug');
    });
    bus.on('n', (n) => got.push(n));
    bus.emit('n', 7);
    expect(got).toEqual([7]);
    expect(errors).toHaveLength(1);
  });

  it('an event nobody follows costs nothing and throws nothing', () => {
    const bus = new EventBus<{ n: number }>();
    expect(() => bus.emit('n', 1)).not.toThrow();
    expect(bus.count('n')).toBe(0);
  });
});

describe('on a real hub', () => {
  let h: InprocHub | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  it('carries task changes in commit order and agent changes, and store health when the store stops', async () => {
    h = await startInprocHub({ listen: true });
    const events: Array<[keyof HubEvents, string]> = [];
    h.hub.bus.on('task.changed', (c) => events.push(['task.changed', `${c.event.from ?? 'new'}->${c.event.to}`]));
    h.hub.bus.on('agent.changed', (a) => events.push(['agent.changed', `${a.id}:${a.state}`]));
    h.hub.bus.on('store.health', (s) => events.push(['store.health', String(s.healthy)]));

    const task = (await h.hub.services.tasks.create({ kind: 'admin', actor: 'admin' }, { title: 't', command: 'true' })).task;
    expect(events).toContainEqual(['task.changed', 'new->queued']);
    const client = await RawClient.connect(h.wsUrl, 'w1', await h.addAgent('w1'));
    await client.nextOf('task.assign');
    await waitFor(() => events.some(([t, e]) => t === 'agent.changed' && e === 'w1:assigned'), 'w1 assigned on the bus');
    // The registry followed the lease before the bus told anyone else of the change.
    expect(h.hub.registry.get('w1')!.leases.has(task.id)).toBe(true);
    await client.close();

    await h.store.close();
    await waitFor(() => events.some(([t, e]) => t === 'store.health' && e === 'false'), 'store.health false', 3000);
  });

  it('stops every feature on close: no alert for a fleet that is only shutting down', async () => {
    h = await startInprocHub({ listen: true, captureLogs: 'info' });
    const alerts: string[] = [];
    h.hub.bus.on('alert', (a) => alerts.push(a.code));
    const client = await RawClient.connect(h.wsUrl, 'w1', await h.addAgent('w1'));
    await waitFor(() => h!.hub.registry.get('w1')?.state === 'idle', 'w1 idle');
    const closing = client.closed;
    await h.close();
    // The sidecar was told the hub is going away (1001), and the watch had stopped before.
    expect((await closing).code).toBe(1001);
    expect(alerts).toEqual([]);
    expect(h.logs()).not.toContain('EXECUTOR_GONE');
  });
});
