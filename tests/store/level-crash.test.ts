/**
 * LevelDB only (it is about a process killed with SIGKILL and its folder on disk). Crash test: a child process (tests/fixtures/crash-child.ts, run from dist/) works a real LevelDB
 * folder and reports each acknowledged operation; the parent kills it with SIGKILL at random
 * moments, reopens the folder, and checks that nothing acknowledged was lost, nothing was done
 * twice, the indexes match the records, and no generation went backwards.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTaskStore } from '../../hub/store/level-task-store.js';
import { allEvents, allTasks, makeTempDir, removeDir } from '../support/queue-store.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHILD_TS = join(ROOT, 'tests/fixtures/crash-child.ts');
const CHILD_JS = join(ROOT, 'dist/tests/fixtures/crash-child.js');
const KILLS = 25;

/** Newest modification time of the sources the compiled child is made of. */
function newestSource(): number {
  let newest = statSync(CHILD_TS).mtimeMs;
  for (const folder of ['hub/store', 'hub/queue', 'shared']) {
    for (const name of readdirSync(join(ROOT, folder))) {
      if (name.endsWith('.ts')) newest = Math.max(newest, statSync(join(ROOT, folder, name)).mtimeMs);
    }
  }
  return newest;
}

/** Builds dist/ when the compiled child is missing or older than its sources. */
function ensureChildBuilt(): void {
  if (existsSync(CHILD_JS) && statSync(CHILD_JS).mtimeMs >= newestSource()) return;
  // tsc emits even when some other file of the project has a type error; what matters is the output.
  spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', ROOT], { cwd: ROOT, stdio: 'ignore' });
  if (!existsSync(CHILD_JS) || statSync(CHILD_JS).mtimeMs < newestSource()) {
    throw new Error(`could not build ${CHILD_JS} (run npx tsc -p . and read its errors)`);
  }
}

interface Ack {
  op: 'ready' | 'create' | 'lease' | 'accept' | 'complete' | 'fail' | 'release';
  id?: string;
  gen?: number;
  status?: string;
  key?: string | null;
}

interface Run {
  acks: Ack[];
  stderr: string;
  killedAfterMs: number;
}

/** Starts a child on `dir`, lets it work `workMs` after it is ready, kills it, and returns its acknowledgements. */
function runChild(dir: string, workMs: number): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [CHILD_JS, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let timer: NodeJS.Timeout | null = null;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (timer === null && out.includes('{"op":"ready"}')) {
        timer = setTimeout(() => child.kill('SIGKILL'), workMs);
      }
    });
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`crash child ended by itself (code ${code}, signal ${signal}): ${stderr}`));
        return;
      }
      // Only whole lines: a line cut by the kill was never acknowledged.
      const lines = out.split('\n');
      lines.pop();
      resolveRun({ acks: lines.map((l) => JSON.parse(l) as Ack), stderr, killedAfterMs: workMs });
    });
  });
}

describe('the task store after SIGKILL at random moments', () => {
  let dir: string;

  beforeAll(async () => {
    ensureChildBuilt();
    dir = await makeTempDir('switchyard-crash-');
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  it(`keeps every acknowledged operation through ${KILLS} kills`, async () => {
    const created = new Set<string>();
    const completed = new Map<string, number>();
    const highestGen = new Map<string, number>();
    let acked = 0;
    let completions = 0;

    for (let round = 0; round < KILLS; round++) {
      const workMs = 20 + Math.floor(Math.random() * 281);
      const run = await runChild(dir, workMs);
      const context = `round ${round} (killed after ${workMs} ms of work)`;
      expect(run.acks[0]?.op, `${context}: the child got ready`).toBe('ready');
      for (const a of run.acks) {
        if (a.op === 'ready') continue;
        acked++;
        if (a.op === 'create') created.add(a.id!);
        if (a.gen !== undefined) highestGen.set(a.id!, Math.max(highestGen.get(a.id!) ?? 0, a.gen));
        if (a.op === 'complete') {
          expect(completed.has(a.id!), `${context}: ${a.id} acknowledged as completed twice`).toBe(false);
          completed.set(a.id!, a.gen!);
          completions++;
        }
      }

      const store = await openTaskStore(dir, { autoSweep: false });
      try {
        const integrity = await store.verifyIntegrity();
        expect(integrity.problems, `${context}: integrity`).toEqual([]);
        const tasks = new Map((await allTasks(store)).map((t) => [t.id, t]));
        for (const id of created) expect(tasks.has(id), `${context}: acknowledged create ${id} is missing`).toBe(true);
        for (const [id, gen] of completed) {
          const t = tasks.get(id);
          expect(t?.status, `${context}: acknowledged completion of ${id}`).toBe('completed');
          expect(t?.generation, `${context}: generation of completed ${id}`).toBe(gen);
        }
        for (const [id, gen] of highestGen) {
          expect(tasks.get(id)!.generation, `${context}: generation of ${id} went backwards`).toBeGreaterThanOrEqual(gen);
        }
        const keys = new Map<string, string>();
        for (const t of tasks.values()) {
          if (t.idempotency_key === null) continue;
          expect(keys.get(t.idempotency_key), `${context}: idempotency key ${t.idempotency_key} on two tasks`).toBeUndefined();
          keys.set(t.idempotency_key, t.id);
        }
        const completedEvents = new Map<string, number>();
        for (const e of await allEvents(store)) {
          if (e.to === 'completed') completedEvents.set(e.task_id, (completedEvents.get(e.task_id) ?? 0) + 1);
        }
        for (const [id, count] of completedEvents) expect(count, `${context}: ${id} completed ${count} times`).toBe(1);
        for (const [id, t] of tasks) {
          if (t.status === 'completed') expect(completedEvents.get(id), `${context}: ${id} completed without an event`).toBe(1);
        }
      } finally {
        await store.close();
      }
    }
    // The run did real work: children were killed in the middle of acknowledged traffic.
    expect(acked).toBeGreaterThan(KILLS);
    expect(completions).toBeGreaterThan(0);
  });
});
