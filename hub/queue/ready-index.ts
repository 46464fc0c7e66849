/**
 * The in-memory view of the ready queue, rebuilt from the store's `r!` keys on open.
 *
 * Queued tasks are grouped by *signature* (required capabilities, repo, delegated agent); each
 * signature has one FIFO heap per lane. Choosing the next task for an agent looks only at the
 * heads of the heaps whose signature the agent satisfies, so its cost is O(signatures × lanes +
 * log n): it does not grow with queue depth.
 *
 * Selection rule (documented in docs/tasks.md and docs/repos.md):
 *  0. A held repo's tasks (a paused repo: `setHold`) are skipped; they stay queued.
 *  1. Anti-starvation: if any compatible head has waited longer than `starvationMs`, the one that
 *     has waited longest is served, whatever its lane or its repo's priority.
 *  2. Otherwise the highest lane wins (urgent > high > normal > low). Within a lane, follow-up
 *     work (a guardian's review, an implementation reopened with feedback: `isFollowUp`) is
 *     served before new work, so work already under way finishes before more is started; then
 *     the repo of higher priority (`setRepoRank`; a task without a repo ranks 0); then the task
 *     queued first (FIFO), across signatures.
 *  Ties in queue time go to the smaller task id (ids sort by creation). The repo is part of the
 *  signature, so hold and rank are asked once per signature, never per task.
 */
import { LANES, type Lane, type Task } from '../../shared/task.js';
import { MinHeap } from './heap.js';
import { agentMatches, type AgentFilter } from './matching.js';

export interface ReadyEntry {
  sig: string;
  lane: Lane;
  at: number;
  id: string;
}

interface SigGroup {
  caps: string[];
  repo: string;
  delegate: string;
  followUp: boolean;
  heaps: Record<Lane, MinHeap<ReadyEntry>>;
}

/** The registry's say on a repo's queued work (hub/service/repos.ts); the defaults hold nothing and rank all 0. */
export interface ReadyPolicy {
  /** Why a repo's tasks wait (paused), or null. */
  hold(repo: string): string | null;
  /** Higher is served first within a lane and kind of work. */
  rank(repo: string): number;
}

const before = (a: ReadyEntry, b: ReadyEntry): boolean => a.at < b.at || (a.at === b.at && a.id < b.id);

/** The marker a follow-up signature ends with (store format 5). */
const FOLLOW_UP = 'follow-up';

/**
 * Work that finishes something already under way: a guardian's review of an implementation, or
 * an implementation reopened with feedback (a review's or a guardian's rejection). Served ahead
 * of new work in its lane (the selection rule above).
 */
export function isFollowUp(task: Pick<Task, 'guardian' | 'feedback'>): boolean {
  return (task.guardian ?? null) !== null || (task.feedback?.length ?? 0) > 0;
}

export function signatureOf(capabilities: readonly string[], repo: string | null, delegate: string | null, followUp = false): string {
  const sig = `${[...capabilities].sort().join(',')}|${repo ?? ''}|${delegate ?? ''}`;
  return followUp ? `${sig}|${FOLLOW_UP}` : sig;
}

function parseSignature(sig: string): { caps: string[]; repo: string; delegate: string; followUp: boolean } {
  const [caps = '', repo = '', delegate = '', marker = ''] = sig.split('|');
  return { caps: caps === '' ? [] : caps.split(','), repo, delegate, followUp: marker === FOLLOW_UP };
}

export class ReadyIndex {
  private readonly groups = new Map<string, SigGroup>();
  /**
   * The one live entry of each queued task. A task leaves the queue and may come back within
   * the same millisecond, so (id, time) does not name an entry; the entry object does. Removal
   * is lazy: the object is marked dead and dropped when it reaches a heap's head.
   */
  private readonly live = new Map<string, ReadyEntry>();
  private readonly dead = new WeakSet<ReadyEntry>();
  private readonly counts: Record<Lane, number> = { urgent: 0, high: 0, normal: 0, low: 0 };
  private version = 0;
  private readonly compatCache = new Map<string, { version: number; groups: SigGroup[] }>();

  private hold: ReadyPolicy['hold'] = () => null;
  private rank: ReadyPolicy['rank'] = () => 0;

  constructor(private readonly starvationMs: number) {}

  /** Sets what holds a repo's tasks back (asked per signature at each pick). */
  setHold(fn: ReadyPolicy['hold']): void {
    this.hold = fn;
  }

  /** Sets the repos' priorities (asked per signature at each pick). */
  setRepoRank(fn: ReadyPolicy['rank']): void {
    this.rank = fn;
  }

  /** Why a task of this repo may not be leased now, or null (a task without a repo is never held). */
  holdOf(repo: string | null): string | null {
    return repo ? this.hold(repo) : null;
  }

  private group(sig: string): SigGroup {
    let g = this.groups.get(sig);
    if (!g) {
      const parsed = parseSignature(sig);
      g = {
        ...parsed,
        heaps: {
          urgent: new MinHeap(before),
          high: new MinHeap(before),
          normal: new MinHeap(before),
          low: new MinHeap(before),
        },
      };
      this.groups.set(sig, g);
      this.version++;
    }
    return g;
  }

  /** Makes `entry` the task's live entry; an older one (which should not exist) is dropped. */
  private track(entry: ReadyEntry): void {
    this.kill(entry.id);
    this.live.set(entry.id, entry);
    this.counts[entry.lane]++;
  }

  private kill(id: string): void {
    const old = this.live.get(id);
    if (!old) return;
    this.dead.add(old);
    this.live.delete(id);
    this.counts[old.lane]--;
  }

  /** Adds a queued task. */
  add(entry: ReadyEntry): void {
    const own = { ...entry };
    this.track(own);
    this.group(own.sig).heaps[own.lane].push(own);
  }

  /** Bulk load on open: entries must come in key order (signature, lane, time, id). */
  load(entry: ReadyEntry): void {
    // The store holds one ready key per queued task, so a loaded entry never replaces another:
    // no kill() and no copy (this runs a million times when a deep queue is reopened).
    this.live.set(entry.id, entry);
    this.counts[entry.lane]++;
    this.group(entry.sig).heaps[entry.lane].pushSorted(entry);
  }

  /**
   * Takes a queued task out of the queue other than from the head (lease, cancel). O(1): removal
   * is lazy. Does nothing unless the task's live entry was queued at `at`.
   */
  remove(entry: Pick<ReadyEntry, 'id' | 'lane' | 'at'>): void {
    const current = this.live.get(entry.id);
    if (current && current.at === entry.at) this.kill(entry.id);
  }

  /** Whether the task has a live entry in the index. */
  has(id: string): boolean {
    return this.live.has(id);
  }

  /** The live entries, in no particular order (for integrity checks). */
  entries(): IterableIterator<ReadyEntry> {
    return this.live.values();
  }

  depth(): Record<Lane, number> {
    return { ...this.counts };
  }

  get size(): number {
    return this.live.size;
  }

  private compatibleGroups(agent: AgentFilter): SigGroup[] {
    const blocked = agent.blocked && agent.blocked.size > 0 ? [...agent.blocked].map(([repo, mode]) => `${repo}=${mode}`).sort().join(',') : '';
    const key = `${agent.agentId}|${[...agent.capabilities].sort().join(',')}|${agent.repos ? [...agent.repos].sort().join(',') : '*'}|${blocked}|${agent.anyRoute ? 'any-route' : ''}`;
    const cached = this.compatCache.get(key);
    if (cached && cached.version === this.version) return cached.groups;
    const groups: SigGroup[] = [];
    for (const g of this.groups.values()) {
      if (agentMatches(agent, { capabilities: g.caps, repo: g.repo, delegate: g.delegate })) groups.push(g);
    }
    if (this.compatCache.size > 10_000) this.compatCache.clear();
    this.compatCache.set(key, { version: this.version, groups });
    return groups;
  }

  /**
   * The oldest queued task of each signature and lane, oldest first, at most `limit`. Every task
   * of a signature needs the same kind of agent, so if its head cannot be placed, none behind it
   * can: the alerts' task_unplaceable rule checks these and not the whole queue.
   */
  heads(limit: number): Array<{ id: string; lane: Lane; queued_at: number; capabilities: string[]; repo: string | null; delegate: string | null }> {
    const found: ReadyEntry[] = [];
    const groupOf = new Map<ReadyEntry, SigGroup>();
    for (const g of this.groups.values()) {
      // A paused repo's tasks wait on purpose: not a head anyone is waiting to place.
      if (this.holdOf(g.repo) !== null) continue;
      for (const lane of LANES) {
        const head = this.head(g.heaps[lane]);
        if (!head) continue;
        found.push(head);
        groupOf.set(head, g);
      }
    }
    found.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    return found.slice(0, limit).map((e) => {
      const g = groupOf.get(e)!;
      return { id: e.id, lane: e.lane, queued_at: e.at, capabilities: g.caps, repo: g.repo || null, delegate: g.delegate || null };
    });
  }

  /** The head of a heap after dropping lazily removed entries. */
  private head(heap: MinHeap<ReadyEntry>): ReadyEntry | undefined {
    for (;;) {
      const top = heap.peek();
      if (!top) return undefined;
      if (!this.dead.has(top)) return top;
      heap.pop();
    }
  }

  /**
   * The task this agent should get next, without taking it. `exclude` names tasks to skip (for
   * example ones this agent rejected); at most `maxProbes` excluded tasks are looked past per heap.
   */
  pick(agent: AgentFilter, now: number, exclude?: ReadonlySet<string>, maxProbes = 32): ReadyEntry | undefined {
    let best: ReadyEntry | undefined;
    let bestFollowUp = false;
    let bestRank = 0;
    let oldestStarving: ReadyEntry | undefined;
    for (const g of this.compatibleGroups(agent)) {
      if (this.holdOf(g.repo) !== null) continue;
      const rank = g.repo ? this.rank(g.repo) : 0;
      for (let li = 0; li < LANES.length; li++) {
        const lane = LANES[li]!;
        const head = exclude && exclude.size > 0 ? this.headExcluding(g.heaps[lane], exclude, maxProbes) : this.head(g.heaps[lane]);
        if (!head) continue;
        if (now - head.at > this.starvationMs && (!oldestStarving || before(head, oldestStarving))) {
          oldestStarving = head;
        }
        if (
          !best ||
          LANES.indexOf(head.lane) < LANES.indexOf(best.lane) ||
          (head.lane === best.lane && (g.followUp !== bestFollowUp ? g.followUp : rank !== bestRank ? rank > bestRank : before(head, best)))
        ) {
          best = head;
          bestFollowUp = g.followUp;
          bestRank = rank;
        }
      }
    }
    return oldestStarving ?? best;
  }

  private headExcluding(heap: MinHeap<ReadyEntry>, exclude: ReadonlySet<string>, maxProbes: number): ReadyEntry | undefined {
    const skipped: ReadyEntry[] = [];
    let found: ReadyEntry | undefined;
    while (skipped.length < maxProbes) {
      const top = this.head(heap);
      if (!top) break;
      if (!exclude.has(top.id)) {
        found = top;
        break;
      }
      skipped.push(heap.pop()!);
    }
    for (const s of skipped) heap.push(s);
    return found;
  }
}
