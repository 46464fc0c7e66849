/**
 * The in-memory pieces under the store: the ready index (selection without the store), the heap,
 * and the monotonic ids.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MinHeap } from '../../hub/queue/heap.js';
import { agentMatches } from '../../hub/queue/matching.js';
import { isFollowUp, ReadyIndex, signatureOf, type ReadyEntry } from '../../hub/queue/ready-index.js';
import { encodeTime, ulidGenerator } from '../../hub/store/ids.js';
import { K, parseReadyKey, parseTimeKey } from '../../hub/store/keys.js';

const any = { agentId: 'x', capabilities: [] as string[] };
const entry = (id: string, at: number, lane: ReadyEntry['lane'] = 'normal', sig = signatureOf([], null, null)): ReadyEntry => ({
  id,
  at,
  lane,
  sig,
});

describe('ReadyIndex', () => {
  it('picks by lane, then time, then id', () => {
    const ix = new ReadyIndex(1e9);
    ix.add(entry('b', 5, 'low'));
    ix.add(entry('c', 7));
    ix.add(entry('a', 7));
    ix.add(entry('d', 9, 'high'));
    const order: string[] = [];
    for (let e = ix.pick(any, 10); e; e = ix.pick(any, 10)) {
      order.push(e.id);
      ix.remove(e);
    }
    expect(order).toEqual(['d', 'a', 'c', 'b']);
    expect(ix.size).toBe(0);
  });

  it('follow-up work goes ahead of new work in its lane, not ahead of a higher lane or a starving task', () => {
    const follow = signatureOf([], null, null, true);
    const ix = new ReadyIndex(100);
    ix.add(entry('new-old', 50));
    ix.add(entry('new-high', 60, 'high'));
    ix.add(entry('fix', 70, 'normal', follow));
    ix.add(entry('fix-low', 10, 'low', follow));
    const order: string[] = [];
    for (let e = ix.pick(any, 100); e; e = ix.pick(any, 100)) {
      order.push(e.id);
      ix.remove(e);
    }
    expect(order).toEqual(['new-high', 'fix', 'new-old', 'fix-low']);
    // Anti-starvation is unchanged: new work that waited past the bound beats follow-up work.
    ix.add(entry('starved', 0));
    ix.add(entry('fix-2', 150, 'normal', follow));
    expect(ix.pick(any, 200)?.id).toBe('starved');
  });

  it('isFollowUp: a guardian task, or one reopened with feedback', () => {
    expect(isFollowUp({})).toBe(false);
    expect(isFollowUp({ guardian: null, feedback: [] })).toBe(false);
    expect(isFollowUp({ feedback: [{ at: 1, by: 'admin', kind: 'review', text: 'no', attempt: 1 }] })).toBe(true);
    expect(isFollowUp({ guardian: { role: 'qa', implementation: 't1', rest: [] } as never })).toBe(true);
  });

  it('counts per lane, and removal is by live entry', () => {
    const ix = new ReadyIndex(1e9);
    ix.add(entry('a', 1, 'urgent'));
    ix.add(entry('b', 1, 'low'));
    expect(ix.depth()).toEqual({ urgent: 1, high: 0, normal: 0, low: 1 });
    ix.remove({ id: 'a', lane: 'urgent', at: 2 }); // not the live entry's time: ignored
    expect(ix.size).toBe(2);
    ix.remove({ id: 'a', lane: 'urgent', at: 1 });
    ix.remove({ id: 'a', lane: 'urgent', at: 1 }); // twice: still one removal
    expect(ix.depth()).toEqual({ urgent: 0, high: 0, normal: 0, low: 1 });
    expect(ix.has('a')).toBe(false);
    expect(ix.pick(any, 5)!.id).toBe('b');
  });

  it('a task removed and added again in the same millisecond is one entry (regression)', () => {
    // Removal used to be keyed by "id@time": two removals before the heap head was cleaned left
    // a stale copy that was served again and drove the count below zero.
    const ix = new ReadyIndex(1e9);
    ix.add(entry('t', 100));
    for (let i = 0; i < 3; i++) {
      ix.remove(entry('t', 100));
      ix.add(entry('t', 100));
    }
    expect(ix.size).toBe(1);
    const e = ix.pick(any, 100)!;
    ix.remove(e);
    expect(ix.pick(any, 100)).toBeUndefined();
    expect(ix.size).toBe(0);
    expect(ix.depth().normal).toBe(0);
  });

  it('anti-starvation: an entry waiting longer than starvationMs wins over any lane; the oldest first', () => {
    const ix = new ReadyIndex(100);
    ix.add(entry('old-low', 0, 'low'));
    ix.add(entry('new-urgent', 50, 'urgent'));
    expect(ix.pick(any, 100)!.id).toBe('new-urgent'); // waited exactly 100: not longer
    expect(ix.pick(any, 101)!.id).toBe('old-low');
    ix.add(entry('older-normal', -5, 'normal'));
    expect(ix.pick(any, 101)!.id).toBe('older-normal'); // both starve: the one waiting longest
  });

  it('matches delegation, repos and capabilities per signature', () => {
    const ix = new ReadyIndex(1e9);
    ix.add(entry('gpu', 1, 'normal', signatureOf(['gpu'], null, null)));
    ix.add(entry('web', 2, 'normal', signatureOf([], 'web', null)));
    ix.add(entry('mine', 3, 'normal', signatureOf([], null, 'me')));
    const ids = (a: Parameters<ReadyIndex['pick']>[0]) => {
      const out: string[] = [];
      const seen = new Set<string>();
      for (let e = ix.pick(a, 10, seen); e; e = ix.pick(a, 10, seen)) {
        seen.add(e.id);
        out.push(e.id);
      }
      return out;
    };
    expect(ids(any)).toEqual(['web']);
    expect(ids({ agentId: 'x', capabilities: [], repos: [] })).toEqual([]);
    expect(ids({ agentId: 'me', capabilities: ['gpu'], repos: ['web'] })).toEqual(['gpu', 'web', 'mine']);
  });

  it('exclude looks past excluded heads, at most maxProbes deep, and leaves them in place', () => {
    const ix = new ReadyIndex(1e9);
    for (let i = 0; i < 5; i++) ix.add(entry(`t${i}`, i));
    const below3 = new Set(['t0', 't1', 't2']);
    expect(ix.pick(any, 10, below3)!.id).toBe('t3');
    expect(ix.pick(any, 10, below3, 2)).toBeUndefined();
    expect(ix.pick(any, 10)!.id).toBe('t0');
    expect(ix.size).toBe(5);
  });

  it('load (sorted, on open) gives the same picks as add', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.nat(50), lane: fc.constantFrom('urgent', 'high', 'normal', 'low' as const) }), { maxLength: 30 }), (rows) => {
        const entries = rows.map((r, i) => entry(`id${String(i).padStart(3, '0')}`, r.at, r.lane));
        const added = new ReadyIndex(1e9);
        for (const e of entries) added.add(e);
        const loaded = new ReadyIndex(1e9);
        const keys = entries.map((e) => K.ready(e.sig, e.lane, e.at, e.id)).sort();
        for (const k of keys) {
          const p = parseReadyKey(k);
          loaded.load({ sig: p.sig, lane: p.lane, at: p.queuedAt, id: p.id });
        }
        const drain = (ix: ReadyIndex) => {
          const out: string[] = [];
          for (let e = ix.pick(any, 0); e; e = ix.pick(any, 0)) {
            out.push(e.id);
            ix.remove(e);
          }
          return out;
        };
        expect(drain(loaded)).toEqual(drain(added));
      }),
      { numRuns: 50 },
    );
  });

  it('agentMatches is the rule leaseTask uses', () => {
    const task = { capabilities: ['gpu'], repo: 'web', delegate: null };
    expect(agentMatches({ agentId: 'a', capabilities: ['gpu'], repos: null }, task)).toBe(true);
    expect(agentMatches({ agentId: 'a', capabilities: ['gpu'], repos: ['api'] }, task)).toBe(false);
    expect(agentMatches({ agentId: 'a', capabilities: [], repos: null }, task)).toBe(false);
    expect(agentMatches({ agentId: 'a', capabilities: ['gpu'] }, { ...task, delegate: 'b' })).toBe(false);
  });
});

describe('MinHeap', () => {
  it('pops in order for any input', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), (xs) => {
        const heap = new MinHeap<number>((a, b) => a < b);
        for (const x of xs) heap.push(x);
        const out: number[] = [];
        for (let x = heap.pop(); x !== undefined; x = heap.pop()) out.push(x);
        expect(out).toEqual([...xs].sort((a, b) => a - b));
        expect(heap.size).toBe(0);
      }),
    );
  });
});

describe('ids and keys', () => {
  it('ids from one generator always increase: within a millisecond, when the clock steps back, when the random part overflows', () => {
    let t = 1_700_000_000_000;
    const steps = [0, 0, 0, 1, -10, 0, 5];
    // random() = 0.999 gives the largest random part, so the next id in that millisecond overflows.
    const gen = ulidGenerator(() => t, () => 0.999);
    let last = '';
    for (const s of steps) {
      t += s;
      const id = gen();
      expect(id > last).toBe(true);
      expect(id).toHaveLength(26);
      last = id;
    }
  });

  it('seed continues after an existing id', () => {
    const gen = ulidGenerator(() => 0, () => 0);
    gen.seed('01ZZZZZZZZ0000000000000000');
    expect(gen() > '01ZZZZZZZZ0000000000000000').toBe(true);
  });

  it('times encode to fixed-width, sortable strings; keys parse back', () => {
    expect(encodeTime(0)).toBe('0000000000');
    expect(encodeTime(1) < encodeTime(32)).toBe(true);
    expect(K.ready('gpu|web|', 'high', 42, 'ID')).toBe('r!gpu|web|!high!0000000000042!ID');
    expect(parseReadyKey('r!||!low!0000000000042!ID')).toEqual({ sig: '||', lane: 'low', queuedAt: 42, id: 'ID' });
    expect(parseTimeKey(K.lease(7, 'ID'))).toEqual({ at: 7, id: 'ID' });
  });
});
