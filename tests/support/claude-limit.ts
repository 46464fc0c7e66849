/**
 * A Claude Code transcript that hits a usage limit resetting at `resetSec` (seconds since the
 * epoch), in the stream-json form the real CLI prints, and the stub CLI's variables that play it
 * on the first run only (then the `success` transcript): a Claude that is limited once, until then.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './processes.js';

export function limitedOnce(resetSec: number): Record<string, string> {
  const dir = tempDir('limit');
  mkdirSync(dir, { recursive: true });
  const limit = join(dir, 'limit.jsonl');
  const lines = [
    { type: 'system', subtype: 'init', session_id: 's', tools: [], model: 'claude-sonnet' },
    { type: 'result', subtype: 'success', is_error: true, num_turns: 1, result: `Claude AI usage limit reached|${resetSec}`, session_id: 's', total_cost_usd: 0, usage: { input_tokens: 0, output_tokens: 0 } },
  ];
  writeFileSync(limit, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return { STUB_CLAUDE_FIRST: `${limit}:${join(dir, 'limit-used')}`, STUB_CLAUDE_TRANSCRIPT: 'success' };
}
