/**
 * The feed's hello and the frames after it never count a change twice. The hello's counts are the
 * store's in-memory ones, which hold a change as soon as it is applied; its `task.changed` frame
 * comes once it is durable. A change caught between the two is named in the hello (`counted`),
 * and the dashboard's client state (dashboard/ui/store.js, run here as the page runs it) skips
 * its counts. Seen in CI as a page that showed 2 queued tasks where there was 1, after a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskStore, TaskChange } from '../../hub/store/task-store.js';
import type { Task } from '../../shared/task.js';
// @ts-expect-error: the dashboard's client code is plain JavaScript served to the browser
import { createStore } from '../../dashboard/ui/store.js';
import { ADMIN_TOKEN, RawClient, startInprocHub, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub | null = null;
const clients: RawClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await h?.close();
  h = null;
});

/** The store as the hub sees it, with its durable-change listeners held until `release()`: a commit whose frame is late. */
function withLateCommits(): { view: (store: TaskStore) => TaskStore; release: () => void } {
  const held: Array<() => void> = [];
  let open = false;
  return {
    release() {
      open = true;
      for (const f of held.splice(0)) f();
    },
    view: (store) =>
      new Proxy(store, {
        get(target, prop) {
          if (prop === 'onChange') {
            return (listener: (c: TaskChange) => void) => target.onChange((c) => (open ? listener(c) : held.push(() => listener(c))));
          }
          const value = Reflect.get(target, prop, target) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
  };
}

describe('the feed snapshot and the frames after it', () => {
  it('names in the hello the changes its counts hold whose frames are still to come, and the page counts each once', async () => {
    const late = withLateCommits();
    h = await startInprocHub({ listen: true, storeView: late.view });
    const res = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'one', lane: 'low', capabilities: ['nobody-has-it'], command: 'true' } });
    expect(res.statusCode).toBe(201);
    const task = res.json() as Task;

    const c = new RawClient(`${h.wsUrl}/v1/feed?token=${ADMIN_TOKEN}`);
    clients.push(c);
    const hello = await c.nextOf('hello');
    expect((hello.stats as { queued: Record<string, number> }).queued.low).toBe(1);
    const counted = hello.counted as string[];
    expect(counted).toHaveLength(1);

    late.release();
    const frame = await c.nextOf('task.changed');
    expect((frame.task as Task).id).toBe(task.id);
    expect((frame.event as { id: string }).id).toBe(counted[0]);

    // The page's own state, from these two frames: one queued task in the low lane, not two.
    const page = createStore();
    page.apply(hello);
    page.apply(frame);
    expect(page.stats.queued.low).toBe(1);
    expect(page.counts.queued).toBe(1);
    expect(page.tasks.get(task.id)?.status).toBe('queued');

    // A later change (its frame after the hello) is counted as usual.
    const next = await h.hub.app.inject({ method: 'POST', url: '/v1/tasks', headers: h.auth(), payload: { title: 'two', lane: 'low', capabilities: ['nobody-has-it'], command: 'true' } });
    expect(next.statusCode).toBe(201);
    page.apply(await c.nextOf('task.changed'));
    expect(page.stats.queued.low).toBe(2);
  });
});
