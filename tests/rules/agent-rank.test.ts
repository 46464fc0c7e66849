/** Which agent gets a task: load, then the operator's priority, then fewer completed today (hub/scheduler/agent-rank.ts). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { AgentRegistry } from '../../hub/agents/registry.js';
import { Authenticator } from '../../hub/auth/authenticator.js';
import { better, rankOf } from '../../hub/scheduler/agent-rank.js';
import { AgentService } from '../../hub/service/agents.js';
import { openAgentStore } from '../../hub/store/agent-store.js';
import type { TaskStore } from '../../hub/store/task-store.js';

const agent = (leases: number, max = 2) => ({ leases: { size: leases }, reserved: 0, maxConcurrency: max });

describe('agent rank', () => {
  test('load first, then priority (higher first), then fewer tasks completed today', () => {
    expect(better(rankOf(agent(0), 0, 9), rankOf(agent(1), 100, 0))).toBe(true); // less loaded wins whatever the priority
    expect(better(rankOf(agent(1, 4), 0, 0), rankOf(agent(1, 2), 0, 0))).toBe(true); // load is a share of the slots
    expect(better(rankOf(agent(0), 5, 9), rankOf(agent(0), 0, 0))).toBe(true);
    expect(better(rankOf(agent(0), -1, 0), rankOf(agent(0), 0, 9))).toBe(false);
    expect(better(rankOf(agent(0), 0, 2), rankOf(agent(0), 0, 3))).toBe(true);
    expect(better(rankOf(agent(0), 0, 3), rankOf(agent(0), 0, 3))).toBe(false); // a tie keeps the first found
  });

  test('a priority set over REST is on disk: a restarted hub places by it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sy-rank-'));
    const admin = { kind: 'admin', actor: 'admin' } as const;
    try {
      let store = await openAgentStore(dir);
      const service = (s: typeof store, registry: AgentRegistry) => new AgentService(s, registry, new Authenticator('0'.repeat(64)), {} as TaskStore, () => 1);
      const before = new AgentRegistry();
      await store.create({ id: 'gpu-1', token_hash: 'a'.repeat(64), created_at: 1, created_by: 'admin', description: '' });
      await service(store, before).update(admin, 'gpu-1', { priority: 7 });
      expect(before.priorityOf('gpu-1')).toBe(7);
      await store.close();

      store = await openAgentStore(dir, { mustExist: true });
      const after = new AgentRegistry();
      expect(after.priorityOf('gpu-1')).toBe(0);
      await service(store, after).load();
      expect(after.priorityOf('gpu-1')).toBe(7);
      expect((await store.get('gpu-1'))?.priority).toBe(7);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
