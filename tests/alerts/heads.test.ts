/** The ready index's heads: the oldest queued task of each kind and lane, what task_unplaceable checks (bounded, no scan). */
import { expect, it } from 'vitest';
import { ReadyIndex, signatureOf, type ReadyEntry } from '../../hub/queue/ready-index.js';

const gpu = signatureOf(['gpu', 'executor:shell'], 'web', null);
const plain = signatureOf([], null, 'w1');
const entry = (id: string, at: number, sig: string, lane: ReadyEntry['lane'] = 'normal'): ReadyEntry => ({ id, at, lane, sig });

it('gives the head of each signature and lane, oldest first, skipping removed tasks, at most `limit`', () => {
  const ix = new ReadyIndex(1e9);
  ix.add(entry('g1', 10, gpu));
  ix.add(entry('g2', 20, gpu));
  ix.add(entry('p1', 5, plain));
  ix.add(entry('p2', 30, plain, 'urgent'));
  expect(ix.heads(10)).toEqual([
    { id: 'p1', lane: 'normal', queued_at: 5, capabilities: [], repo: null, delegate: 'w1' },
    { id: 'g1', lane: 'normal', queued_at: 10, capabilities: ['executor:shell', 'gpu'], repo: 'web', delegate: null },
    { id: 'p2', lane: 'urgent', queued_at: 30, capabilities: [], repo: null, delegate: 'w1' },
  ]);
  ix.remove({ id: 'g1', lane: 'normal', at: 10 });
  ix.remove({ id: 'p1', lane: 'normal', at: 5 });
  expect(ix.heads(2).map((h) => h.id)).toEqual(['g2', 'p2']);
  expect(ix.size).toBe(2);
});
