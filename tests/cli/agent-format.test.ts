/** `switchyard agent show`: the LLM registry's view of an agent's models, warm and cold. */
import { expect, it } from 'vitest';
import { formatAgent } from '../../cli/commands/agent.js';

it('lists each model with what it is, and the warm one with its VRAM and until when', () => {
  const text = formatAgent({
    id: 'gpu-1',
    created_at: 1,
    created_by: 'admin',
    description: '',
    priority: 0,
    state: 'idle',
    tasks: [],
    executors: [
      {
        name: 'ollama',
        available: true,
        models: ['qwen2.5-coder:32b', 'llama3.1:8b'],
        model_info: [
          { name: 'qwen2.5-coder:32b', family: 'qwen2', parameter_size: '32.8B', quantization: 'Q4_K_M', size_bytes: 19_851_336_236, loaded: true, vram_bytes: 21_000_000_000, expires_at: Date.UTC(2026, 11, 3, 14, 2, 11) },
          { name: 'llama3.1:8b', family: 'llama', parameter_size: '8.0B', quantization: 'Q4_K_M', size_bytes: 4_920_753_328, loaded: false },
        ],
      },
    ],
  });
  expect(text).toMatch(/^ {6}qwen2\.5-coder:32b {2}\(qwen2, 32\.8B, Q4_K_M, 19\.9 GB\) {2}warm: 21\.0 GB VRAM, until .+$/m);
  expect(text).toMatch(/^ {6}llama3\.1:8b {2}\(llama, 8\.0B, Q4_K_M, 4\.9 GB\) {2}cold$/m);
});
