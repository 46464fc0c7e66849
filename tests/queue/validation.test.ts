/**
 * Bad input: every malformed task body is refused with a SwitchyardError carrying a stable code,
 * and the store is left exactly as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwitchyardError, type ErrorCode } from '../../shared/errors.js';
import { LIMITS, type TaskSpec } from '../../shared/task.js';
import { validateSpec } from '../../hub/queue/normalize.js';
import { openTestStore, snapshot, spec, type TestStore } from '../support/queue-store.js';

let h: TestStore;
let existingId: string;
beforeAll(async () => {
  h = await openTestStore();
  // Something in the store, so "nothing written" compares against a non-empty picture.
  existingId = (await h.store.create(spec('existing', { idempotency_key: 'existing' }), 'c')).task.id;
});
afterAll(async () => {
  await h.dispose();
});

const long = (n: number) => 'x'.repeat(n);
const many = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

/** Malformed single tasks: [what, body, code, a fragment of the message]. */
const BAD_TASKS: Array<[string, unknown, ErrorCode, string]> = [
  ['not an object', 'do the thing', 'VALIDATION_FAILED', '(root)'],
  ['null', null, 'VALIDATION_FAILED', '(root)'],
  ['an array', [{ title: 'x' }], 'VALIDATION_FAILED', '(root)'],
  ['missing title', { description: 'no title' }, 'VALIDATION_FAILED', 'title'],
  ['empty title', { title: '' }, 'VALIDATION_FAILED', '/title'],
  ['title of the wrong type', { title: 42 }, 'VALIDATION_FAILED', '/title'],
  ['oversized title', { title: long(LIMITS.titleChars + 1) }, 'VALIDATION_FAILED', '/title'],
  ['oversized description', { title: 't', description: long(LIMITS.textChars + 1) }, 'VALIDATION_FAILED', '/description'],
  ['unknown field', { title: 't', priority: 1 }, 'VALIDATION_FAILED', "unknown field 'priority'"],
  ['unknown nested field', { title: 't', context: { files: [], extra: 1 } }, 'VALIDATION_FAILED', "unknown field 'extra'"],
  ['unknown lane', { title: 't', lane: 'critical' }, 'VALIDATION_FAILED', '/lane'],
  ['unknown complexity', { title: 't', complexity: 'huge' }, 'VALIDATION_FAILED', '/complexity'],
  ['unknown executor', { title: 't', executor: 'python' }, 'VALIDATION_FAILED', '/executor'],
  ['shell executor without command', { title: 't', executor: 'shell' }, 'VALIDATION_FAILED', 'needs a command'],
  ['too many success criteria', { title: 't', success_criteria: many(LIMITS.listItems + 1, (i) => `c${i}`) }, 'VALIDATION_FAILED', '/success_criteria'],
  ['too many context files', { title: 't', context: { files: many(LIMITS.listItems + 1, (i) => `f${i}`) } }, 'VALIDATION_FAILED', '/context/files'],
  ['oversized list item', { title: 't', success_criteria: [long(LIMITS.itemChars + 1)] }, 'VALIDATION_FAILED', '/success_criteria/0'],
  ['too many verification steps', { title: 't', verification: many(65, () => ({ type: 'git_clean' })) }, 'VALIDATION_FAILED', '/verification'],
  ['unknown verification step', { title: 't', verification: [{ type: 'vibes' }] }, 'VALIDATION_FAILED', '/verification/0'],
  ['too many capabilities', { title: 't', capabilities: many(33, (i) => `c${i}`) }, 'VALIDATION_FAILED', '/capabilities'],
  ['duplicate capabilities', { title: 't', capabilities: ['gpu', 'gpu'] }, 'VALIDATION_FAILED', '/capabilities'],
  ['capability with a separator', { title: 't', capabilities: ['gpu,rust'] }, 'VALIDATION_FAILED', '/capabilities/0'],
  ['repo with a key separator', { title: 't', repo: 'web!api' }, 'VALIDATION_FAILED', '/repo'],
  ['agent with a space', { title: 't', agent: 'agent one' }, 'VALIDATION_FAILED', '/agent'],
  ['too many dependencies', { title: 't', depends_on: many(LIMITS.listItems + 1, (i) => `d${i}`) }, 'VALIDATION_FAILED', '/depends_on'],
  ['duplicate dependencies', { title: 't', depends_on: ['a', 'a'] }, 'VALIDATION_FAILED', '/depends_on'],
  ['empty idempotency key', { title: 't', idempotency_key: '' }, 'VALIDATION_FAILED', '/idempotency_key'],
  ['zero max_attempts', { title: 't', max_attempts: 0 }, 'VALIDATION_FAILED', '/max_attempts'],
  ['too many max_attempts', { title: 't', max_attempts: LIMITS.maxAttempts + 1 }, 'VALIDATION_FAILED', '/max_attempts'],
  ['fractional max_attempts', { title: 't', max_attempts: 1.5 }, 'VALIDATION_FAILED', '/max_attempts'],
  ['max_attempts as a string', { title: 't', max_attempts: '3' }, 'VALIDATION_FAILED', '/max_attempts'],
  ['zero timeout', { title: 't', timeouts: { lease_ms: 0 } }, 'VALIDATION_FAILED', '/timeouts/lease_ms'],
  ['timeout over a week', { title: 't', timeouts: { overall_ms: LIMITS.timeoutMs + 1 } }, 'VALIDATION_FAILED', '/timeouts/overall_ms'],
  ['negative run_at', { title: 't', run_at: -1 }, 'VALIDATION_FAILED', '/run_at'],
  ['run_at as a date string', { title: 't', run_at: '2030-01-01' }, 'VALIDATION_FAILED', '/run_at'],
  ['review as a string', { title: 't', review: 'yes' }, 'VALIDATION_FAILED', '/review'],
  ['metadata not an object', { title: 't', metadata: [1, 2] }, 'VALIDATION_FAILED', '/metadata'],
  ['oversized metadata', { title: 't', metadata: { blob: long(LIMITS.metadataBytes) } }, 'VALIDATION_FAILED', '/metadata is'],
  ['metadata key over 128 chars', { title: 't', metadata: { [long(129)]: 1 } }, 'VALIDATION_FAILED', '/metadata has a key'],
];

describe('malformed task bodies', () => {
  for (const [what, body, code, fragment] of BAD_TASKS) {
    it(`${what} -> ${code}, nothing written`, async () => {
      const before = await snapshot(h.store);
      let err: unknown;
      try {
        await h.store.create(body as TaskSpec, 'c');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SwitchyardError);
      expect((err as SwitchyardError).code).toBe(code);
      expect((err as SwitchyardError).message).toContain(fragment);
      expect((err as SwitchyardError).toWire()).toMatchObject({ code, retryable: false });
      expect(await snapshot(h.store)).toEqual(before);
    });
  }

  it('metadata that cannot be serialised (a cycle, a BigInt) -> VALIDATION_FAILED, not a crash', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const metadata of [cyclic, { n: 10n }]) {
      let err: unknown;
      try {
        await h.store.create({ title: 't', metadata } as TaskSpec, 'c');
      } catch (e) {
        err = e;
      }
      expect((err as SwitchyardError).code).toBe('VALIDATION_FAILED');
    }
  });

  it('accepts the limits themselves', async () => {
    const spec: TaskSpec = {
      title: long(LIMITS.titleChars),
      success_criteria: many(LIMITS.listItems, (i) => `c${i}`),
      max_attempts: LIMITS.maxAttempts,
      timeouts: { overall_ms: LIMITS.timeoutMs },
      metadata: { k: long(LIMITS.metadataBytes - 20) },
    };
    expect(() => validateSpec(spec)).not.toThrow();
  });
});

describe('malformed batches', () => {
  const cases: Array<[string, unknown, ErrorCode, string]> = [
    ['not an array', { title: 'x' }, 'VALIDATION_FAILED', 'must be an array'],
    ['one bad task among good ones', [{ title: 'ok' }, { title: 'ok' }, { title: '' }], 'VALIDATION_FAILED', 'tasks[2]'],
    ['duplicate refs', [{ title: 'a', ref: 'x' }, { title: 'b', ref: 'x' }], 'VALIDATION_FAILED', "ref 'x' is used twice"],
    ['duplicate idempotency keys', [{ title: 'a', idempotency_key: 'k' }, { title: 'b', idempotency_key: 'k' }], 'VALIDATION_FAILED', "'k' is used twice"],
    ['a bad ref token', [{ title: 'a', ref: 'has space' }], 'VALIDATION_FAILED', '/ref'],
    ['a two-task cycle', [{ title: 'a', ref: 'a', depends_on: ['b'] }, { title: 'b', ref: 'b', depends_on: ['a'] }], 'DEPENDENCY_CYCLE', 'a -> b -> a'],
    ['an unknown dependency after good tasks', [{ title: 'a' }, { title: 'b', depends_on: ['nope'] }], 'UNKNOWN_DEPENDENCY', 'nope'],
  ];
  for (const [what, body, code, fragment] of cases) {
    it(`${what} -> ${code}, nothing written`, async () => {
      const before = await snapshot(h.store);
      let err: unknown;
      try {
        await h.store.createMany(body as TaskSpec[], 'c');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SwitchyardError);
      expect((err as SwitchyardError).code).toBe(code);
      expect((err as SwitchyardError).message).toContain(fragment);
      expect(await snapshot(h.store)).toEqual(before);
      expect((await h.store.verifyIntegrity()).ok).toBe(true);
    });
  }

  it('a batch whose idempotent hit is fine is not disturbed by a refusal of another batch', async () => {
    await expect(h.store.createMany([{ title: 'x', idempotency_key: 'existing' }, { title: '' }], 'c')).rejects.toThrow(SwitchyardError);
    const again = await h.store.create({ title: 'x', idempotency_key: 'existing' }, 'c');
    expect(again).toMatchObject({ created: false, task: { id: existingId } });
  });

  it('an empty batch creates nothing', async () => {
    const before = await snapshot(h.store);
    expect(await h.store.createMany([], 'c')).toEqual([]);
    expect(await snapshot(h.store)).toEqual(before);
  });
});
