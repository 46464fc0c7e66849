/**
 * Project history and the context assembler in a real hub (LevelDB in a temp folder): a finished
 * task adds its entry (files, commit, decisions, answers) to its repo's history, readable over
 * REST; the newest entries stay live and older ones move to the archive, still searchable, and
 * survive a reopen; a newly queued task carries its assembled context on its record, under the
 * budget, with what the budget left out listed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HistoryService } from '../../hub/history/service.js';
import { openAgentStore } from '../../hub/store/agent-store.js';
import { historyStoreOf, type HistoryStore } from '../../hub/store/history-store.js';
import { OPERATOR } from '../../hub/service/access.js';
import type { HistoryEntry } from '../../shared/context.js';
import type { Task } from '../../shared/task.js';
import { closeAfterEach } from '../support/cleanup.js';
import { startInprocHub, type InprocHub } from '../support/hub-inproc.js';

const closing = closeAfterEach();
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** Runs a task to completion as agent `x` would (lease, accept, complete with `result`). */
async function finish(h: InprocHub, spec: Record<string, unknown>, result: unknown): Promise<Task> {
  const t = (await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { capabilities: ['ctx-test'], ...spec } })).json() as Task;
  const l = (await h.store.leaseTask(t.id, { agentId: 'x', capabilities: ['ctx-test'], repos: null, anyRoute: true }))!;
  await h.store.accept(t.id, l.lease!.generation, 'x');
  return h.store.complete(t.id, l.lease!.generation, 'x', result);
}

async function until<T>(f: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('project history', () => {
  it('records a finished task with its files, commit and summary, over REST', async () => {
    const h = closing(await startInprocHub());
    await finish(h, { title: 'Parse negative numbers', repo: 'calc', context: { files: ['src/parse.ts'] } }, {
      submission: { commit: 'abc1234def', files_changed: ['src/parse.ts', 'tests/parse.test.ts'] },
      summary: 'the tokenizer reads a leading minus',
    });
    const res = await until(async () => {
      const r = (await h.hub.app.inject({ method: 'GET', url: '/v1/repos/calc/history', headers: h.auth() })).json() as { entries: unknown[] };
      return r.entries.length ? r : undefined;
    }, 'the history entry');
    expect(res).toMatchObject({ repo: 'calc', live: 1, archived: 0 });
    expect(res.entries[0]).toMatchObject({
      seq: 1,
      title: 'Parse negative numbers',
      outcome: 'completed',
      files: ['src/parse.ts', 'tests/parse.test.ts'],
      commit: 'abc1234def',
      summary: 'the tokenizer reads a leading minus',
      summary_by: 'agent',
      archived: false,
    });
    // Searched by words; other repos have none; a bad query is a 400 with the stable code.
    expect(((await h.hub.app.inject({ method: 'GET', url: '/v1/repos/calc/history?q=tokenizer', headers: h.auth() })).json() as { entries: unknown[] }).entries).toHaveLength(1);
    expect(((await h.hub.app.inject({ method: 'GET', url: '/v1/repos/calc/history?q=nothing-like-it', headers: h.auth() })).json() as { entries: unknown[] }).entries).toHaveLength(0);
    expect(((await h.hub.app.inject({ method: 'GET', url: '/v1/repos/other/history', headers: h.auth() })).json() as { entries: unknown[] }).entries).toHaveLength(0);
    const bad = await h.hub.app.inject({ method: 'GET', url: '/v1/repos/calc/history?scope=sometimes', headers: h.auth() });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('VALIDATION_FAILED');
  });

  it('keeps the newest entries live and archives older ones, searchable and durable across a reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sy-hist-'));
    dirs.push(dir);
    const agents = await openAgentStore(join(dir, 'agents'));
    const history = new HistoryService(historyStoreOf(agents), () => 1000, 3);
    await history.load();
    const base = { description: '', context: {}, repo: 'r', status: 'completed', result: null, last_error: null } as unknown as Task;
    for (let i = 1; i <= 5; i++) await history.record({ ...base, id: `T${i}`, title: `step ${i} of the migration` });
    const live = await history.list(OPERATOR, 'r');
    expect(live.entries.map((e) => e.task_id)).toEqual(['T5', 'T4', 'T3']);
    expect(live).toMatchObject({ live: 3, archived: 2 });
    expect((await history.list(OPERATOR, 'r', { scope: 'archived' })).entries.map((e) => [e.task_id, e.archived])).toEqual([['T2', true], ['T1', true]]);
    expect((await history.list(OPERATOR, 'r', { scope: 'all', q: 'step 1' })).entries.map((e) => e.task_id)).toEqual(['T1']);
    await agents.close();

    const again = await openAgentStore(join(dir, 'agents'));
    const reloaded = new HistoryService(historyStoreOf(again), () => 2000, 3);
    await reloaded.load();
    expect((await reloaded.list(OPERATOR, 'r', { scope: 'all' })).entries.map((e) => `${e.seq}:${e.task_id}:${e.archived}`)).toEqual(['5:T5:false', '4:T4:false', '3:T3:false', '2:T2:true', '1:T1:true']);
    // Numbering goes on after the reopen: nothing doubled.
    expect((await reloaded.record({ ...base, id: 'T6', title: 'six' })).seq).toBe(6);
    expect((await reloaded.list(OPERATOR, 'r', { scope: 'archived' })).entries.map((e) => e.task_id)).toEqual(['T3', 'T2', 'T1']);
    await again.close();
  });

  it('writes the entries of tasks that finish together in one batch, numbered and archived as if one at a time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sy-hist-'));
    dirs.push(dir);
    const agents = await openAgentStore(join(dir, 'agents'));
    const store = historyStoreOf(agents);
    let writes = 0;
    const counting: HistoryStore = { load: (hold) => store.load(hold), append: (e, a) => (writes++, store.append(e, a)), archivedBefore: (...args) => store.archivedBefore(...args) };
    const history = new HistoryService(counting, () => 1000, 3);
    await history.load();
    const base = { description: '', context: {}, status: 'completed', result: null, last_error: null } as unknown as Task;
    await history.record({ ...base, id: 'R1', repo: 'r', title: 'before' });
    writes = 0;
    // Seven entries of one repo (more than its live window of 3) and one of another, all at once.
    const entries = await Promise.all([
      ...[2, 3, 4, 5, 6, 7, 8].map((i) => history.record({ ...base, id: `R${i}`, repo: 'r', title: `r ${i}` })),
      history.record({ ...base, id: 'Q1', repo: 'q', title: 'q 1' }),
    ]);
    expect(entries.map((e) => `${e.task_id}:${e.seq}`)).toEqual(['R2:2', 'R3:3', 'R4:4', 'R5:5', 'R6:6', 'R7:7', 'R8:8', 'Q1:1']);
    // The first entry starts a write; the other seven wait for it and go together in the next.
    expect(writes).toBeLessThanOrEqual(2);
    const all = async () => (await history.list(OPERATOR, 'r', { scope: 'all' })).entries.map((e) => `${e.seq}:${e.archived}`);
    const expected = ['8:false', '7:false', '6:false', '5:true', '4:true', '3:true', '2:true', '1:true'];
    expect(await all()).toEqual(expected);
    expect(await history.list(OPERATOR, 'r')).toMatchObject({ live: 3, archived: 5 });
    await agents.close();

    const again = await openAgentStore(join(dir, 'agents'));
    const reloaded = new HistoryService(historyStoreOf(again), () => 2000, 3);
    await reloaded.load();
    expect((await reloaded.list(OPERATOR, 'r', { scope: 'all' })).entries.map((e) => `${e.seq}:${e.archived}`)).toEqual(expected);
    expect((await reloaded.list(OPERATOR, 'q')).live).toBe(1);
    await again.close();
  });

  it('holds at most twice its memory bound per repo; older archived entries are listed and searched from disk, and counted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sy-hist-'));
    dirs.push(dir);
    const agents = await openAgentStore(join(dir, 'agents'));
    // 2 live, 4 held in memory (up to 8 before the oldest half is let go).
    const history = new HistoryService(historyStoreOf(agents), () => 1000, 2, 4);
    await history.load();
    const base = { description: '', context: {}, repo: 'r', status: 'completed', result: null, last_error: null } as unknown as Task;
    for (let i = 1; i <= 20; i++) await history.record({ ...base, id: `T${i}`, title: i === 3 ? 'the old lexer fix' : `step ${i}` });
    const held = (h: HistoryService) => (h as unknown as { repos: Map<string, { entries: unknown[] }> }).repos.get('r')!.entries.length;
    expect(held(history)).toBeLessThan(8);
    const seqs = async (h: HistoryService, q?: string) => (await h.list(OPERATOR, 'r', { scope: 'all', ...(q ? { q } : {}) })).entries.map((e) => e.seq);
    expect(await seqs(history)).toEqual([20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    // Entry 3 is long out of memory: still found by its words, from the archive on disk.
    expect(await seqs(history, 'lexer')).toEqual([3]);
    expect(await history.list(OPERATOR, 'r')).toMatchObject({ live: 2, archived: 18 });
    expect((await history.list(OPERATOR, 'r', { scope: 'archived', limit: 5 })).entries.map((e) => e.seq)).toEqual([18, 17, 16, 15, 14]);
    // The assembler scores what is held: the old entry is not among the relevant ones, a recent one is.
    expect(history.relevant({ repo: 'r', id: 'X', title: 'the old lexer fix', description: '', context: {} }).map((s) => s.entry.seq)).not.toContain(3);
    await agents.close();

    const again = await openAgentStore(join(dir, 'agents'));
    const reloaded = new HistoryService(historyStoreOf(again), () => 2000, 2, 4);
    await reloaded.load();
    expect(held(reloaded)).toBe(4);
    expect(await seqs(reloaded)).toEqual([20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(await reloaded.list(OPERATOR, 'r')).toMatchObject({ live: 2, archived: 18 });
    expect((await reloaded.record({ ...base, id: 'T21', title: 'twenty-one' })).seq).toBe(21);
    await again.close();
  });

  it('starts holding the newest entries per repo and the counts of all, without reading or scanning the older archived ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sy-hist-'));
    dirs.push(dir);
    const agents = await openAgentStore(join(dir, 'agents'));
    const entry = (repo: string, seq: number, archived: boolean) =>
      ({ seq, repo, task_id: `${repo}-${seq}`, title: `t ${seq}`, outcome: 'completed', at: seq, files: [], commit: null, decisions: [], answers: [], error: null, summary: null, summary_by: null, archived }) satisfies HistoryEntry;
    // Repo "a": 50 archived and 3 live; repo "a-b" (a name that "a" is a prefix of): 2 live; repo "z": 6 archived, 2 live.
    const written = [
      ...Array.from({ length: 53 }, (_, i) => entry('a', i + 1, i < 50)),
      entry('a-b', 1, false),
      entry('a-b', 2, false),
      ...Array.from({ length: 8 }, (_, i) => entry('z', i + 1, i < 6)),
    ];
    const memory = historyStoreOf({} as Parameters<typeof historyStoreOf>[0]);
    for (const store of [historyStoreOf(agents), memory]) await store.append(written, []);

    // Count the values and keys the LevelDB store reads back while it loads.
    const kv = (agents as unknown as {
      kv: { entries: (...args: unknown[]) => AsyncGenerator<Array<[string, string]>>; keys: (...args: unknown[]) => AsyncGenerator<string[]> };
    }).kv;
    const entries = kv.entries.bind(kv);
    const keys = kv.keys.bind(kv);
    let valuesRead = 0;
    let keysRead = 0;
    kv.entries = async function* (...args: unknown[]) {
      for await (const chunk of entries(...args)) {
        valuesRead += chunk.length;
        yield chunk;
      }
    };
    kv.keys = async function* (...args: unknown[]) {
      for await (const chunk of keys(...args)) {
        keysRead += chunk.length;
        yield chunk;
      }
    };
    const summary = (loads: Awaited<ReturnType<HistoryStore['load']>>) => loads.map((l) => `${l.repo} live ${l.live} archived ${l.archived}: ${l.entries.map((e) => e.seq).join(',')}`);
    const expected = ['a live 3 archived 50: 48,49,50,51,52,53', 'a-b live 2 archived 0: 1,2', 'z live 2 archived 6: 3,4,5,6,7,8'];
    expect(summary(await historyStoreOf(agents).load(6))).toEqual(expected);
    // The live entries (7) and the 3 + 4 archived ones held, not the 56 archived on disk, and no key scan to count them.
    expect(valuesRead).toBe(14);
    expect(keysRead).toBe(0);
    expect(summary(await memory.load(6))).toEqual(expected);
    // Fewer held than live: every live entry still, and the archived counted from the live entries' numbers.
    const fewer = ['a live 3 archived 50: 51,52,53', 'a-b live 2 archived 0: 1,2', 'z live 2 archived 6: 7,8'];
    expect(summary(await memory.load(1))).toEqual(fewer);
    valuesRead = 0;
    expect(summary(await historyStoreOf(agents).load(1))).toEqual(fewer);
    expect(valuesRead).toBe(7);
    expect(keysRead).toBe(0);

    const history = new HistoryService(historyStoreOf(agents), () => 1000, 3, 6);
    await history.load();
    expect(await history.list(OPERATOR, 'a')).toMatchObject({ live: 3, archived: 50 });
    expect((await history.list(OPERATOR, 'a', { scope: 'all', limit: 10 })).entries.map((e) => e.seq)).toEqual([53, 52, 51, 50, 49, 48, 47, 46, 45, 44]);
    expect((await history.record({ repo: 'a', id: 'N', title: 'next', description: '', context: {}, status: 'completed', result: null, last_error: null } as unknown as Task)).seq).toBe(54);
    await agents.close();
  });

  it('a write that fails refuses its entries and changes nothing; the next ones are numbered from what is on disk', async () => {
    const items: HistoryEntry[] = [];
    let fail = false;
    const store: HistoryStore = {
      load: async () => [],
      append: async (entries) => {
        if (fail) throw new Error('disk full');
        items.push(...entries);
      },
      archivedBefore: async () => [],
    };
    const history = new HistoryService(store, () => 1000, 3);
    const base = { description: '', context: {}, repo: 'r', status: 'completed', result: null, last_error: null } as unknown as Task;
    await history.record({ ...base, id: 'T1', title: 'one' });
    fail = true;
    await expect(history.record({ ...base, id: 'T2', title: 'two' })).rejects.toThrow('disk full');
    expect((await history.list(OPERATOR, 'r')).entries.map((e) => e.task_id)).toEqual(['T1']);
    fail = false;
    expect((await history.record({ ...base, id: 'T3', title: 'three' })).seq).toBe(2);
    expect(items.map((e) => `${e.task_id}:${e.seq}`)).toEqual(['T1:1', 'T3:2']);
  });
});

describe('the assembled context', () => {
  it('travels on a newly queued task: relevant history first, under the budget, the rest listed as left out', async () => {
    const h = closing(await startInprocHub({ config: { contextBudget: 120 } }));
    await finish(h, { title: 'Add the divide operator', repo: 'calc', context: { files: ['src/ops.ts'] } }, { submission: { commit: 'aaaaaaa1', files_changed: ['src/ops.ts'] } });
    await finish(h, { title: 'Unrelated docs typo', repo: 'calc', context: { files: ['README.md'] } }, {});
    for (let i = 0; i < 6; i++) await finish(h, { title: `Operator precedence table ${i}`, repo: 'calc', context: { files: ['src/ops.ts', `src/extra${i}.ts`] } }, {});
    await until(async () => ((await h.hub.services.history.list(h.hub.services.access.authenticate(h.adminToken), 'calc')).live === 8 ? true : undefined), 'eight entries');

    const t = (await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'Divide by zero gives an error', repo: 'calc', context: { files: ['src/ops.ts'] }, capabilities: ['ctx-test'] } })).json() as Task;
    const ctx = await until(async () => (await h.store.get(t.id))?.assembled_context ?? undefined, 'the assembled context');
    expect(ctx.budget).toBe(120);
    expect(ctx.tokens).toBeLessThanOrEqual(120);
    expect(ctx.tokens).toBeGreaterThan(0);
    expect(ctx.text).toContain('## Earlier work in this repo');
    // The divide task shares the file and the word: it scores first.
    expect(ctx.included[0]).toMatchObject({ section: 'history' });
    expect(ctx.text.indexOf('Add the divide operator')).toBeGreaterThan(-1);
    expect(ctx.left_out.length).toBeGreaterThan(0);
    // The docs typo shares nothing with it: not a candidate at all.
    expect(ctx.text).not.toContain('Unrelated docs typo');
    // `task show` over REST carries it.
    const shown = (await h.hub.app.inject({ method: 'GET', url: `/v1/tasks/${t.id}`, headers: h.auth() })).json() as { task: Task };
    expect(shown.task.assembled_context?.tokens).toBe(ctx.tokens);

    // A shell command in the same repo, with the same words and file, reads no prompt: it gets none.
    const shell = (await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'Divide by zero gives an error', repo: 'calc', context: { files: ['src/ops.ts'] }, capabilities: ['ctx-test'], command: 'make test' } })).json() as Task;
    // A coding task created after it carries its context: by then the shell one's would have been written too.
    const after = (await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'Divide by zero, again', repo: 'calc', context: { files: ['src/ops.ts'] }, capabilities: ['ctx-test'] } })).json() as Task;
    await until(async () => (await h.store.get(after.id))?.assembled_context ?? undefined, 'the later coding task’s context');
    expect((await h.store.get(shell.id))?.assembled_context).toBeUndefined();
  });
});
