/**
 * The ready index with the repo registry's hooks (docs/repos.md): within a lane and kind of work,
 * a higher-priority repo's task first; a higher lane and follow-up work still come first; the
 * anti-starvation rule still serves an old task whatever its repo; a held (paused) repo's tasks
 * are skipped and stay queued. The hooks are asked per signature, not per task.
 */
import { describe, expect, it } from 'vitest';
import { ReadyIndex, signatureOf, type ReadyEntry } from '../../hub/queue/ready-index.js';

const any = { agentId: 'x', capabilities: [] as string[] };
const task = (id: string, at: number, repo: string | null, lane: ReadyEntry['lane'] = 'normal', followUp = false): ReadyEntry => ({
  id,
  at,
  lane,
  sig: signatureOf([], repo, null, followUp),
});

function drain(ix: ReadyIndex, now: number): string[] {
  const order: string[] = [];
  for (let e = ix.pick(any, now); e; e = ix.pick(any, now)) {
    order.push(e.id);
    ix.remove(e);
  }
  return order;
}

function indexWith(priorities: Record<string, number>, paused: string[] = [], starvationMs = 1e9): ReadyIndex {
  const ix = new ReadyIndex(starvationMs);
  ix.setRepoRank((repo) => priorities[repo] ?? 0);
  ix.setHold((repo) => (paused.includes(repo) ? `repo ${repo} is paused` : null));
  return ix;
}

describe('ReadyIndex with repo priorities', () => {
  it('serves the higher-priority repo first within a lane, FIFO within a repo; no repo ranks 0', () => {
    const ix = indexWith({ web: 10, api: 5, old: -1 });
    ix.add(task('old-1', 1, 'old'));
    ix.add(task('none-1', 2, null));
    ix.add(task('api-1', 3, 'api'));
    ix.add(task('web-1', 4, 'web'));
    ix.add(task('api-2', 5, 'api'));
    ix.add(task('web-2', 6, 'web'));
    expect(drain(ix, 10)).toEqual(['web-1', 'web-2', 'api-1', 'api-2', 'none-1', 'old-1']);
  });

  it('without the hooks, the same tasks go FIFO (priority is what reorders them)', () => {
    const ix = new ReadyIndex(1e9);
    ix.add(task('api-1', 3, 'api'));
    ix.add(task('web-1', 4, 'web'));
    expect(drain(ix, 10)).toEqual(['api-1', 'web-1']);
  });

  it('a higher lane beats a higher-priority repo, and follow-up work beats it within a lane', () => {
    const ix = indexWith({ web: 100, api: 0 });
    ix.add(task('web-normal', 1, 'web'));
    ix.add(task('api-high', 5, 'api', 'high'));
    ix.add(task('api-follow', 6, 'api', 'normal', true));
    ix.add(task('web-low', 0, 'web', 'low'));
    expect(drain(ix, 10)).toEqual(['api-high', 'api-follow', 'web-normal', 'web-low']);
  });

  it('anti-starvation comes first: a task waiting longer than starvationMs is served whatever its repo priority', () => {
    const ix = indexWith({ web: 100, api: 0 }, [], 50);
    ix.add(task('api-old', 0, 'api', 'low'));
    ix.add(task('web-new', 90, 'web', 'urgent'));
    // At 100 the api task has waited 100 > 50: it goes first, though low lane and priority 0.
    expect(ix.pick(any, 100)?.id).toBe('api-old');
    // At 40 nothing starves: priority and lane decide.
    expect(ix.pick(any, 40)?.id).toBe('web-new');
  });

  it("a paused repo's tasks are skipped (even starving ones) and stay queued; resumed, they are served", () => {
    const paused = ['web'];
    const ix = indexWith({ web: 100 }, paused, 10);
    ix.add(task('web-1', 0, 'web', 'urgent'));
    ix.add(task('api-1', 5, 'api'));
    expect(ix.pick(any, 1000)?.id).toBe('api-1');
    ix.remove(ix.pick(any, 1000)!);
    expect(ix.pick(any, 1000)).toBeUndefined();
    expect(ix.has('web-1')).toBe(true);
    expect(ix.heads(10).map((h) => h.id)).toEqual([]);
    expect(ix.holdOf('web')).toBe('repo web is paused');
    expect(ix.holdOf(null)).toBeNull();
    paused.length = 0;
    expect(ix.pick(any, 1000)?.id).toBe('web-1');
    expect(ix.heads(10).map((h) => h.id)).toEqual(['web-1']);
  });

  it('asks hold and rank once per signature for a pick, not once per queued task', () => {
    const ix = new ReadyIndex(1e9);
    let asked = 0;
    ix.setRepoRank(() => (asked++, 0));
    ix.setHold(() => (asked++, null));
    for (let i = 0; i < 1000; i++) ix.add(task(`t${i}`, i, i % 2 === 0 ? 'web' : 'api'));
    ix.pick(any, 2000);
    // Two signatures (web, api): one hold and one rank each.
    expect(asked).toBe(4);
  });
});
