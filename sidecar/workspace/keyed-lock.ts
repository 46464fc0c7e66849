/**
 * Runs async work one at a time per key. Git operations on one repository (fetch, worktree add
 * and remove, push) take repository-wide locks and fail rather than wait when they collide, so
 * the workspace runs them one after another per repository; different repositories proceed in
 * parallel.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    // The chain continues whether fn succeeds or fails; the caller sees fn's own outcome.
    const tail = next.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
