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

  it('quotes only the extras when the hub gave them: the plan, feedback and answers come from the record once', () => {
    const prompt = buildTaskPrompt({
      ...base,
      feedback: [{ at: 1, by: 'admin', kind: 'review', text: 'keep the old API', attempt: 1 }],
      assembled_context: { text: '## Review feedback to address\nFrom admin: keep the old API\n\n## Earlier work in this repo\n- T0', extras: '## Earlier work in this repo\n- T0', tokens: 20, budget: 1500, included: [], left_out: [], assembled_at: 0 },
    });
    expect(prompt).toContain('# Context from the hub\n\n## Earlier work in this repo\n- T0');
    expect(prompt.split('keep the old API')).toHaveLength(2);
  });

  it('adds nothing for a task without one, or with an empty one', () => {
    const plain = buildTaskPrompt(base);
    expect(plain).not.toContain('Context from the hub');
    expect(buildTaskPrompt({ ...base, assembled_context: { text: '', tokens: 0, budget: 10, included: [], left_out: [], assembled_at: 0 } })).toBe(plain);
    expect(buildTaskPrompt({ ...base, assembled_context: null })).toBe(plain);
  });
});
