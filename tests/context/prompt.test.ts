/** The hub's assembled context reaches the sidecar's prompt (sidecar/loop/prompt.ts), and a task without one prompts as before. */
import { describe, expect, it } from 'vitest';
import { buildTaskPrompt, type PromptTask } from '../../sidecar/loop/prompt.js';

const base: PromptTask = { id: 'T', title: 'Fix the parser', description: 'It drops minus signs.', context: {}, success_criteria: ['negative numbers parse'], verification: [] };

describe('the prompt with assembled context', () => {
  it('quotes the context under its own heading, before the success criteria', () => {
    const prompt = buildTaskPrompt({
      ...base,
      assembled_context: { text: '## Earlier work in this repo\n- Tokenizer rewrite (T0)', tokens: 12, budget: 1500, included: [], left_out: [], assembled_at: 0 },
    });
    expect(prompt).toContain('# Context from the hub\n\n## Earlier work in this repo\n- Tokenizer rewrite (T0)');
    expect(prompt.indexOf('Tokenizer rewrite')).toBeLessThan(prompt.indexOf('## Success criteria'));
  });

  it('adds nothing for a task without one, or with an empty one', () => {
    const plain = buildTaskPrompt(base);
    expect(plain).not.toContain('Context from the hub');
    expect(buildTaskPrompt({ ...base, assembled_context: { text: '', tokens: 0, budget: 10, included: [], left_out: [], assembled_at: 0 } })).toBe(plain);
    expect(buildTaskPrompt({ ...base, assembled_context: null })).toBe(plain);
  });
});
