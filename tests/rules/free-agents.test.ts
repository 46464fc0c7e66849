/**
 * The registry's agents with a free slot (AgentRegistry.forEachFree), which placement walks instead
 * of every agent: each way an agent's slots grow puts it back, each way they shrink takes it out,
 * and a full tie still goes to the agent known first (hub/scheduler/scheduler.ts leastLoaded).
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { AgentRegistry, type AgentConnection, type LiveAgent } from '../../hub/agents/registry.js';
import { Scheduler } from '../../hub/scheduler/scheduler.js';
import type { TaskStore } from '../../hub/store/task-store.js';
import type { Task } from '../../shared/task.js';
import { pino } from 'pino';

const conn = (): AgentConnection => ({ send: () => undefined, close: () => undefined });
const SHELL = [{ name: 'shell' as const, available: true, models: [] }];

function join(registry: AgentRegistry, id: string, maxConcurrency = 1): LiveAgent {
  const c = conn();
  const { agent } = registry.connect(id, c, { capabilities: [], repos: null, executors: SHELL, maxConcurrency, resources: null }, 1);
  registry.markReady(agent);
  return agent;
}

const free = (registry: AgentRegistry) => registry.freeAgents().map((a) => a.id).sort();

const leased = (id: string, agent: string, status: Task['status'] = 'assigned') =>
  ({ id, status, lease: { agent_id: agent, generation: 1, expires_at: 9, accepted: status === 'running' } }) as unknown as Task;

describe('agents with a free slot', () => {
  test('follow leases, reserved slots, BUSY, heartbeats, disconnects and removal', () => {
    const r = new AgentRegistry(() => 1);
    const a = join(r, 'a');
    join(r, 'b');
    const c = join(r, 'c', 2);
    expect(free(r)).toEqual(['a', 'b', 'c']);

    // A lease fills a's only slot; c still has one of two.
    r.trackLease(leased('t1', 'a'), null);
    r.trackLease(leased('t2', 'c'), null);
    expect(free(r)).toEqual(['b', 'c']);
    // The lease ends: a is back.
    r.trackLease({ ...leased('t1', 'a'), status: 'completed', lease: null } as Task, leased('t1', 'a', 'running'));
    expect(free(r)).toEqual(['a', 'b', 'c']);

    // A lease request in flight holds a slot until it ends.
    a.reserved++;
    expect(free(r)).toEqual(['b', 'c']);
    a.reserved--;
    r.slotReleased(a);
    expect(free(r)).toEqual(['a', 'b', 'c']);

    // BUSY holds offers back until the next heartbeat.
    a.holdOff = true;
    expect(free(r)).toEqual(['b', 'c']);
    r.heartbeat(a, { cpu_count: 1, load_1m: 0, ram_total_mb: 1, ram_free_mb: 1, gpus: [] }, undefined, false, 2);
    expect(free(r)).toEqual(['a', 'b', 'c']);

    // Draining, offline, and not yet reconciled after a reconnect: no room.
    r.heartbeat(a, { cpu_count: 1, load_1m: 0, ram_total_mb: 1, ram_free_mb: 1, gpus: [] }, undefined, true, 3);
    const bConn = r.get('b')!.conn!;
    r.disconnect('b', bConn);
    expect(free(r)).toEqual(['c']);
    const { agent: b } = r.connect('b', conn(), { capabilities: [], repos: null, executors: SHELL, maxConcurrency: 1, resources: null }, 4);
    expect(free(r)).toEqual(['c']);
    r.markReady(b);
    expect(free(r)).toEqual(['b', 'c']);

    // A removed agent is not placed on, even if a slot of its old object is given back later.
    const cObj = r.get('c')!;
    r.forget('c');
    r.slotReleased(cObj);
    expect(free(r)).toEqual(['b']);
  });

  test('a full tie goes to the agent known first, whatever order their slots came free in', () => {
    const r = new AgentRegistry(() => 1);
    const first = join(r, 'first');
    const second = join(r, 'second');
    // first fills and frees after second is free: it joins the free set after it.
    r.trackLease(leased('x', 'first'), null);
    expect(free(r)).toEqual(['second']);
    r.trackLease({ ...leased('x', 'first'), status: 'completed', lease: null } as Task, leased('x', 'first', 'running'));
    expect(r.freeAgents().map((a) => a.id)).toEqual(['second', 'first']);
    // Same load, priority and completed-today count (first completed one; give second one too).
    r.trackLease(leased('y', 'second'), null);
    r.trackLease({ ...leased('y', 'second'), status: 'completed', lease: null } as Task, leased('y', 'second', 'running'));
    const scheduler = new Scheduler({} as TaskStore, r, pino({ enabled: false }));
    const task = { id: 't', capabilities: [], repo: null, delegate: null, route: undefined } as unknown as Task;
    expect(scheduler.chooseAgent(task)?.id).toBe(first.id);
    expect(second.seq).toBeGreaterThan(first.seq);
  });
});

/** One step of what the hub does to its agents (the gateway, the scheduler, the store's lease changes). */
type Op =
  | { op: 'lease' | 'end'; agent: number; task: number }
  | { op: 'reserve' | 'release' | 'busy' | 'heartbeat' | 'drain' | 'disconnect' | 'reconnect' | 'ready'; agent: number };

describe('agents with a free slot, against every agent checked one by one', () => {
  test('after any sequence of lease, reserve, BUSY, heartbeat, drain and reconnect steps, the set lists exactly the agents with room', () => {
    const agentIx = fc.integer({ min: 0, max: 3 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constantFrom('lease' as const, 'end' as const), agent: agentIx, task: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ op: fc.constantFrom('reserve' as const, 'release' as const, 'busy' as const, 'heartbeat' as const, 'drain' as const, 'disconnect' as const, 'reconnect' as const, 'ready' as const), agent: agentIx }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const r = new AgentRegistry(() => 1);
        const ids = ['a0', 'a1', 'a2', 'a3'];
        ids.forEach((id, i) => join(r, id, 1 + (i % 3)));
        const holder = new Map<number, string>(); // task -> agent holding it
        const hb = (id: string, draining: boolean) => r.heartbeat(r.get(id)!, { cpu_count: 1, load_1m: 0, ram_total_mb: 1, ram_free_mb: 1, gpus: [] }, undefined, draining, 2);
        for (const step of ops) {
          const id = ids[step.agent]!;
          const agent = r.get(id)!;
          switch (step.op) {
            case 'lease': {
              const before = holder.get(step.task);
              const prev = before ? leased(`t${step.task}`, before) : null;
              r.trackLease(leased(`t${step.task}`, id), prev);
              holder.set(step.task, id);
              break;
            }
            case 'end': {
              const before = holder.get(step.task);
              if (!before) break;
              r.trackLease({ ...leased(`t${step.task}`, before), status: 'completed', lease: null } as Task, leased(`t${step.task}`, before, 'running'));
              holder.delete(step.task);
              break;
            }
            case 'reserve':
              agent.reserved++;
              break;
            case 'release':
              if (agent.reserved > 0) {
                agent.reserved--;
                r.slotReleased(agent);
              }
              break;
            case 'busy':
              agent.holdOff = true;
              break;
            case 'heartbeat':
              hb(id, false);
              break;
            case 'drain':
              hb(id, true);
              break;
            case 'disconnect':
              if (agent.conn) r.disconnect(id, agent.conn);
              break;
            case 'reconnect':
              r.connect(id, conn(), { capabilities: [], repos: null, executors: SHELL, maxConcurrency: agent.maxConcurrency, resources: null }, 3);
              break;
            case 'ready':
              if (agent.conn) r.markReady(agent);
              break;
          }
          const expected = ids.filter((x) => r.freeSlots(r.get(x)!) > 0);
          expect(free(r)).toEqual(expected);
        }
      }),
      { numRuns: 300, seed: 16 },
    );
  });
});
