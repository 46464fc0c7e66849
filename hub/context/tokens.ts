/**
 * Token estimation (docs/context.md, "Counting tokens"): ceil(UTF-8 bytes / 4). BPE tokenizers
 * of the models we run (Claude, Qwen, Llama) average about 4 characters per token on English and
 * code, and a non-ASCII character costs 2–4 bytes here, so the estimate errs high, never low: a
 * budget it keeps is kept by the model's own count too, within the estimate's slack. Subadditive
 * (ceil(a + b) ≤ ceil(a) + ceil(b)), so the sum of the parts' estimates bounds the whole's.
 */

export const BYTES_PER_TOKEN = 4;

export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / BYTES_PER_TOKEN);
}
