/**
 * One definition each: the id rule and the executor list are written once (shared/ids.ts,
 * shared/task.ts), and every schema that takes an id or an executor uses them.
 */
import { describe, expect, it } from 'vitest';
import { AgentCreateBody } from '../shared/rest.js';
import { HubMessages, SidecarMessages } from '../shared/protocol.js';
import { ID_PATTERN } from '../shared/ids.js';
import { EXECUTORS, TaskSpec } from '../shared/task.js';
import { SidecarConfigSchema } from '../sidecar/config.js';

const constsOf = (union: unknown) => (union as { anyOf: Array<{ const: string }> }).anyOf.map((s) => s.const);

describe('one definition', () => {
  it('of an id', () => {
    const patterns = {
      'task ref': TaskSpec.properties.ref.pattern,
      'task agent': TaskSpec.properties.agent.pattern,
      'hello agent_id': SidecarMessages.hello.properties.agent_id.pattern,
      'in_flight task_id': SidecarMessages.hello.properties.in_flight.items.properties.task_id.pattern,
      'welcome agent_id': HubMessages.welcome.properties.agent_id.pattern,
      'POST /v1/agents id': AgentCreateBody.properties.id.pattern,
      'sidecar agentId': SidecarConfigSchema.properties.agentId.pattern,
    };
    for (const [where, pattern] of Object.entries(patterns)) expect(pattern, where).toBe(ID_PATTERN);
  });

  it('of the executors', () => {
    expect(constsOf(TaskSpec.properties.executor)).toEqual([...EXECUTORS]);
    expect(constsOf(SidecarMessages.hello.properties.executors.items.properties.name)).toEqual([...EXECUTORS]);
    expect(constsOf(SidecarConfigSchema.properties.executors.items)).toEqual([...EXECUTORS]);
  });
});
