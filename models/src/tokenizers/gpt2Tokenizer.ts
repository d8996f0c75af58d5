import { SwapformerError } from '@swapformer/core';
import type { Tokenizer } from './Tokenizer';

type Encoding = typeof import('gpt-tokenizer/encoding/r50k_base');

/** GPT-2's vocabulary size (r50k_base: 50 000 merges + 256 bytes + <|endoftext|>). */
export const GPT2_VOCAB_SIZE = 50257;

function requireEncoding(): Encoding {
  try {
    return require('gpt-tokenizer/encoding/r50k_base') as Encoding;
  } catch (error) {
    // a page or an ES-module bundle has no synchronous require of a package
    if (typeof require !== 'function' || /dynamic require/i.test(String((error as Error)?.message))) {
      throw new SwapformerError('unsupported', 'the GPT-2 tokenizer cannot be loaded synchronously here (no require in a page or an ES-module bundle).\n  Use `await loadGpt2Tokenizer()` from @swapformer/models instead (it loads gpt-tokenizer on demand).', { cause: error });
    }
    throw error;
  }
}

/**
 * GPT-2 byte-pair encoding (the `r50k_base` encoding of `gpt-tokenizer`, which ships its
 * merge table: works offline). Loaded on first use, since the table takes a moment to parse;
 * Node's module cache keeps the one parsed table for every tokenizer.
 *
 * @example createGpt2Tokenizer().encode('Hello world') // [15496, 995]
 */
export function createGpt2Tokenizer(): Tokenizer {
  const load = (): Encoding => requireEncoding();
  return {
    name: 'gpt2',
    vocabSize: GPT2_VOCAB_SIZE,
    encode: (text) => load().encode(text),
    decode: (ids) => load().decode(ids),
  };
}
