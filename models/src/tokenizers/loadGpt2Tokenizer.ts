import { GPT2_VOCAB_SIZE } from './gpt2Tokenizer';
import type { Tokenizer } from './Tokenizer';

/**
 * GPT-2's byte-pair encoding, loaded with a dynamic import: a bundler puts `gpt-tokenizer`'s
 * merge table (~490 KiB) in a chunk of its own that a page fetches only when a GPT-2 vocabulary
 * is used. The synchronous `createGpt2Tokenizer` needs `require`, which pages do not have.
 *
 * @example const tokenizer = await loadGpt2Tokenizer(); tokenizer.encode('Hello world') // [15496, 995]
 */
export async function loadGpt2Tokenizer(): Promise<Tokenizer> {
  const encoding = await import('gpt-tokenizer/encoding/r50k_base');
  return { name: 'gpt2', vocabSize: GPT2_VOCAB_SIZE, encode: (text) => encoding.encode(text), decode: (ids) => encoding.decode(ids) };
}
