/**
 * Per-file cleanup that every integration test needs: what a test opened is closed after it, in
 * reverse order (clients before the hub they talk to), and processes are stopped, with their
 * logs printed when the test failed.
 */
import { afterEach } from 'vitest';
import type { Proc } from './processes.js';

type Closable = { close(): Promise<void> };

/** Call once per file; returns `track(x)`, which closes `x` after the current test. */
export function closeAfterEach(): <T extends Closable>(x: T) => T {
  const open: Closable[] = [];
  afterEach(async () => {
    for (const x of open.splice(0).reverse()) await x.close();
  });
  return (x) => {
    open.push(x);
    return x;
  };
}

/** Call once per file; returns the list to push started processes to: stopped after each test. */
export function stopAfterEach(): Proc[] {
  const procs: Proc[] = [];
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') for (const p of procs) console.error(p.dump());
    await Promise.all(procs.splice(0).map((p) => p.stop()));
  });
  return procs;
}
